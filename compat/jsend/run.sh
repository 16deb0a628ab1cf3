#!/usr/bin/env bash
# The JSend API as its users drive it: the nightly export posted with curl, exactly as the
# vendor's own uploader does (`curl URL -F "file=@opps.csv" -H "Authorization: KEY"`), then the
# caller's opportunities read back. Needs KITH_URL, KITH_BIN and KITH_DATA (compat/run sets
# them): the suite makes an account of its own, so the other suites' accounts stay as they were.
set -euo pipefail

API="$KITH_URL/api/v1"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
KITH_API_KEY="$("$KITH_BIN" --data-dir "$KITH_DATA" account create --name JSend --owner-email jsend@example.test --json \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A field of a JSON document: `field FILE data.total_imported_rows`.
field() {
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1" "$2"
}

post() {
    curl -sS -o "$WORK/answer.json" -w '%{http_code}' "$API/$1" -F "file=@$2" -H "Authorization: $KITH_API_KEY"
}

# The vendor uploader's headers (snake form, no quoting), and the seed's labels with quoting.
printf 'account_id,account_name,opp_id,opp_name,amount,close_date,stage,owner,owner_email\n' > "$WORK/opps.csv"
printf '333j055555,Southern Railway,334j0HHBF,Phone Install for Southern Railway,80000,2030-02-15,Develop,,\n' >> "$WORK/opps.csv"
printf '333j055556,Northern Lines,335j0HHBF,Fleet radios,12000,3/1/2030,Qualified,,\n' >> "$WORK/opps.csv"
printf ',,,No id,1,,,,\n' >> "$WORK/opps.csv"
code="$(post admin/opportunities/upload "$WORK/opps.csv")"
[[ "$code" == 200 ]] || fail "opportunities upload answered $code: $(cat "$WORK/answer.json")"
[[ "$(field "$WORK/answer.json" status)" == success ]] || fail "not a success"
[[ "$(field "$WORK/answer.json" total_original_rows)" == 3 ]] || fail "total_original_rows"
[[ "$(field "$WORK/answer.json" total_imported_rows)" == 2 ]] || fail "total_imported_rows"
[[ "$(field "$WORK/answer.json" total_error_rows)" == 1 ]] || fail "total_error_rows"
error_file="$(field "$WORK/answer.json" error_file)"
curl -fsS "$error_file" -H "Authorization: $KITH_API_KEY" -o "$WORK/errors.csv" || fail "error file download"
grep -q '^,,,No id,' "$WORK/errors.csv" || fail "the refused row is not in the error file: $(cat "$WORK/errors.csv")"

printf 'Opportunity ID,Email*,Fullname,Title,Company Name,Phone,Mobile Phone\n' > "$WORK/contacts.csv"
printf '334j0HHBF,ada@rail.example,"Lovelace, Ada",CTO,Southern Railway,+44 20 1234,\n' >> "$WORK/contacts.csv"
code="$(post admin/contacts/upload "$WORK/contacts.csv")"
[[ "$code" == 200 && "$(field "$WORK/answer.json" total_imported_rows)" == 1 ]] \
    || fail "contacts upload: $code $(cat "$WORK/answer.json")"

printf 'Email Address of Salesrep,Month (date),Amount\nrep@rail.example,2030-02-01,50000\n' > "$WORK/targets.csv"
code="$(post admin/salestargets/upload "$WORK/targets.csv")"
[[ "$code" == 200 && "$(field "$WORK/answer.json" total_imported_rows)" == 1 ]] \
    || fail "sales targets upload: $code $(cat "$WORK/answer.json")"

# Upserting the same file again changes nothing in the count.
post admin/opportunities/upload "$WORK/opps.csv" > /dev/null
curl -fsS "$API/opportunities/my" -H "Authorization: $KITH_API_KEY" -o "$WORK/mine.json" || fail "opportunities/my"
count="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["data"]))' "$WORK/mine.json")"
[[ "$count" == 2 ]] || fail "expected 2 opportunities, got $count: $(cat "$WORK/mine.json")"
python3 - "$WORK/mine.json" <<'PY'
import json, sys
opps = {o["external_opp_id"]: o for o in json.load(open(sys.argv[1]))["data"]}
o = opps["334j0HHBF"]
assert o["active"] == "1" and o["amount"] == 80000 and o["account"] == "Southern Railway", o
assert o["close_date"]["date"] == "2030-02-15 00:00:00.000000", o
assert o["relationship_index"] == 25, o
PY

# A key that is not valid is a JSend error.
code="$(curl -sS -o "$WORK/answer.json" -w '%{http_code}' "$API/opportunities/my" -H "Authorization: nope")"
[[ "$code" == 401 && "$(field "$WORK/answer.json" status)" == error ]] || fail "a bad key answered $code"
echo "jsend: curl uploads, error file and opportunities/my as the seed describes them: ok"
