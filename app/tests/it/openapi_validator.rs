//! The OpenAPI response check used by every OnePage test, checked on a small document.

use crate::common;

use common::openapi::Document;
use serde_json::json;

const DOC: &str = r##"
openapi: 3.0.0
paths:
  /things/{id}:
    get:
      responses:
        200:
          content:
            application/json:
              schema:
                properties:
                  data:
                    properties:
                      thing:
                        $ref: '#/components/schemas/Thing'
        404:
          $ref: '#/components/responses/404'
  /things/special:
    get:
      responses:
        200:
          content:
            application/json:
              schema:
                properties:
                  data:
                    type: array
components:
  responses:
    400:
      content:
        application/json:
          schema:
            required: [status]
            properties:
              status:
                type: integer
    404:
      description: Not found
  schemas:
    Thing:
      required: [name]
      properties:
        name:
          type: string
          maxLength: 5
        parent_id:
          type: string
          nullable: true
        kind:
          type: string
          enum: [a, b]
"##;

#[test]
fn the_validator_has_teeth() {
    let doc = Document::parse(DOC);
    let ok = json!({"data": {"thing": {"name": "Ada", "parent_id": null, "kind": "a"}}});
    assert_eq!(doc.check("GET", "/things/1.json?x=1", 200, &ok), Ok(()));
    for bad in [
        json!({"data": {"thing": {"parent_id": "1"}}}),
        json!({"data": {"thing": {"name": "Too long a name"}}}),
        json!({"data": {"thing": {"name": 5}}}),
        json!({"data": {"thing": {"name": "Ada", "kind": "c"}}}),
    ] {
        assert!(doc.check("GET", "/things/1", 200, &bad).is_err(), "accepted {bad}");
    }
    // The most literal template wins.
    assert_eq!(doc.template("/things/special"), Some("/things/special"));
    assert!(doc.check("GET", "/things/special", 200, &json!({"data": {}})).is_err());
    // Undocumented successes fail; documented errors without a schema pass.
    assert!(doc.check("GET", "/nothing", 200, &json!({})).is_err());
    assert!(doc.check("POST", "/things/1", 201, &json!({})).is_err());
    assert_eq!(doc.check("GET", "/things/1", 404, &json!({"anything": 1})), Ok(()));
    // An error status the operation does not list must still have the error envelope.
    assert!(doc.check("GET", "/things/1", 413, &json!({})).is_err());
    assert_eq!(doc.check("GET", "/things/1", 413, &json!({"status": 413})), Ok(()));
    assert!(doc.check("GET", "/things/1", 204, &json!({})).is_err());
}
