//! Checks OnePage and Apideck responses against the vendors' OpenAPI documents: the response schema of the
//! operation (method and path template) for the status code answered.
//!
//! The document is read from `../shared/specs/onepagecrm-v3.openapi.yaml` beside the repository,
//! or from the folder in `KITH_VENDOR_SPECS`. Without it the harness fails loudly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{Map, Value};

const FILE: &str = "onepagecrm-v3.openapi.yaml";

pub struct Document {
    /// The whole document, translated to JSON Schema (2020-12) where OpenAPI 3.0 differs.
    root: Value,
    /// Path templates (without the mount) split into segments, most literal first.
    templates: Vec<(String, Vec<String>)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn specs_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("KITH_VENDOR_SPECS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs")
}

/// A vendor's document from the specs folder, parsed.
fn load(file: &str, vendor: &str) -> Document {
    let path = specs_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the {vendor} OpenAPI document is needed to check responses: cannot read {} ({e}); \
             set KITH_VENDOR_SPECS to the folder holding {file}",
            path.display()
        )
    });
    Document::parse(&text)
}

/// The OnePage document, parsed once per test process.
pub static ONEPAGE: LazyLock<Document> = LazyLock::new(|| load(FILE, "OnePage"));

/// The Apideck CRM document (its paths include the `/crm` mount), parsed once per test process.
pub static APIDECK: LazyLock<Document> = LazyLock::new(|| load("apideck-crm.openapi.yml", "Apideck"));

/// OpenAPI 3.0 schema objects differ from JSON Schema in `nullable`; this rewrites it, everywhere.
fn translate(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true)) {
                nullable(map);
            }
            map.remove("example");
            for child in map.values_mut() {
                translate(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(translate),
        _ => {}
    }
}

fn nullable(map: &mut Map<String, Value>) {
    match map.get_mut("type") {
        Some(Value::String(t)) => {
            let t = t.clone();
            map.insert("type".into(), Value::Array(vec![Value::String(t), Value::String("null".into())]));
        }
        Some(Value::Array(types)) => types.push(Value::String("null".into())),
        _ => {}
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.push(Value::Null);
    }
    if let Some(r) = map.remove("$ref") {
        let mut inner = Map::new();
        inner.insert("$ref".into(), r);
        map.insert("anyOf".into(), serde_json::json!([Value::Object(inner), {"type": "null"}]));
    }
}

/// A path template as a JSON pointer token inside a URI fragment (braces are not allowed there).
fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1").replace('{', "%7B").replace('}', "%7D")
}

impl Document {
    pub fn parse(yaml: &str) -> Document {
        let mut root: Value = serde_yaml::from_str(yaml).expect("the OpenAPI document is valid YAML");
        translate(&mut root);
        let mut templates: Vec<(String, Vec<String>)> = root["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(|t| (t.clone(), t.trim_matches('/').split('/').map(str::to_owned).collect()))
            .collect();
        // Prefer the most literal match: `/contacts/delete` before `/contacts/{contact_id}`.
        templates.sort_by_key(|(_, segs)| std::cmp::Reverse(segs.iter().filter(|s| !s.starts_with('{')).count()));
        Document { root, templates, validators: Mutex::new(HashMap::new()) }
    }

    /// Follows a local `$ref` (`#/components/…`), or returns `v` itself.
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/")) {
            Some(pointer) => self.root.pointer(&format!("/{pointer}")).unwrap_or(&Value::Null),
            None => v,
        }
    }

    /// Every GET operation whose path has no parameter, with the names of its query parameters:
    /// a `deepObject` parameter gives `name[property]` for each property of its schema.
    pub fn list_operations(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (path, ops) in self.root["paths"].as_object().into_iter().flatten() {
            let Some(get) = ops.get("get") else { continue };
            if path.contains('{') {
                continue;
            }
            let declared = [ops.get("parameters"), get.get("parameters")];
            let mut names = Vec::new();
            for p in declared.into_iter().flatten().filter_map(Value::as_array).flatten() {
                let p = self.resolve(p);
                if p["in"] != "query" {
                    continue;
                }
                let Some(name) = p["name"].as_str() else { continue };
                let schema = self.resolve(&p["schema"]);
                match schema["properties"].as_object().filter(|_| p["style"] == "deepObject") {
                    Some(props) => names.extend(props.keys().map(|k| format!("{name}[{k}]"))),
                    None => names.push(name.to_owned()),
                }
            }
            out.push((path.clone(), names));
        }
        out
    }

    /// The path template an API path (without mount, query or `.json`) belongs to.
    pub fn template(&self, path: &str) -> Option<&str> {
        let path = path.split('?').next().unwrap_or_default();
        let path = path.strip_suffix(".json").unwrap_or(path);
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.templates
            .iter()
            .find(|(_, t)| t.len() == segs.len() && t.iter().zip(&segs).all(|(t, s)| t.starts_with('{') || t == s))
            .map(|(t, _)| t.as_str())
    }

    /// Checks one response. `Err` says what is wrong; responses the document gives no JSON schema
    /// for (e.g. a 404 with a description only) pass.
    pub fn check(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<(), String> {
        let Some(template) = self.template(path) else {
            return if (200..300).contains(&status) {
                Err(format!("{method} {path} answered {status} but the document has no such path"))
            } else {
                Ok(())
            };
        };
        let ops = &self.root["paths"][template];
        let mut m = method.to_ascii_lowercase();
        if ops.get(&m).is_none() && m == "patch" && ops.get("put").is_some() {
            // Kith accepts PATCH as a synonym of PUT.
            m = "put".into();
        }
        if ops.get(&m).is_none() {
            return if (200..300).contains(&status) {
                Err(format!("{method} {template} answered {status} but the document has no such operation"))
            } else {
                Ok(())
            };
        }
        let responses = &ops[&m]["responses"];
        let code = status.to_string();
        let mut response = match responses.get(&code).or_else(|| responses.get("default")) {
            Some(r) => r.clone(),
            // An error status the operation does not list (e.g. 413) still has the error envelope
            // the document gives for every 4XX response.
            None if status >= 400 => serde_json::json!({"$ref": "#/components/responses/400"}),
            None => return Err(format!("{method} {template} answered {status}, which the document does not list")),
        };
        let mut base = format!("/paths/{}/{m}/responses/{code}", pointer_escape(template));
        if let Some(r) = response.get("$ref").and_then(Value::as_str) {
            base = r.trim_start_matches('#').to_owned();
            response = self.root.pointer(&base).cloned().unwrap_or(Value::Null);
        } else {
            response = self.root.pointer(&base.replace("%7B", "{").replace("%7D", "}")).cloned().unwrap_or(response);
        }
        if response.pointer("/content/application~1json/schema").is_none() {
            return Ok(());
        }
        let pointer = format!("#{base}/content/application~1json/schema");
        let validator = self.validator(&pointer)?;
        let errors: Vec<String> =
            validator.iter_errors(body).take(5).map(|e| format!("at {}: {e}", e.instance_path())).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {template} {status} does not match the document: {}", errors.join("; ")))
        }
    }

    fn validator(&self, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(pointer) {
            return Ok(v.clone());
        }
        // The whole document is the root resource, so every `#/components/...` reference resolves.
        let mut schema = self.root.clone();
        if let Value::Object(map) = &mut schema {
            map.insert("$ref".into(), Value::String(pointer.to_owned()));
        }
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(false)
            .build(&schema)
            .map_err(|e| format!("the schema at {pointer} does not compile: {e}"))?;
        let v = Arc::new(v);
        cache.insert(pointer.to_owned(), v.clone());
        Ok(v)
    }
}
