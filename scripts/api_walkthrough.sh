#!/usr/bin/env bash
# Writes docs/api-walkthrough.md: the README's curl walkthrough, run against the stack that
# `make run` started (API on 127.0.0.1:8000, demo site on 127.0.0.1:8765). Every response
# in the file is the one this run received; long text fields are cut, and the file says so.
#   make run && bash scripts/api_walkthrough.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
API="${API:-http://127.0.0.1:8000}"
SITE="${SITE:-http://127.0.0.1:8765/}"
OUT="${OUT:-$REPO_ROOT/docs/api-walkthrough.md}"
PY="$REPO_ROOT/.venv/bin/python"
RUN_ENV=(env AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4569
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
  AWS_EC2_METADATA_DISABLED=true ISIDORUS_NAMESPACE=isidorus
  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/isidorus REDIS_URL=redis://127.0.0.1:6379/0
  DJANGO_SETTINGS_MODULE=config.settings)

# Pretty-prints a JSON body, cutting strings longer than 160 characters and lists longer
# than 3 items, so the file stays readable, and a raw key's secret part.
shorten() {
  "$PY" -c '
import json, sys
def secret(raw):
    # A raw API key is shown once; the file keeps its public prefix only.
    return raw.split(".")[0] + ".<secret: shown once, cut here>"
def cut(value):
    if isinstance(value, str) and len(value) > 160:
        return value[:157] + "..."
    if isinstance(value, list):
        kept = [cut(item) for item in value[:3]]
        return kept + ([f"... {len(value) - 3} more"] if len(value) > 3 else [])
    if isinstance(value, dict):
        return {key: secret(item) if key == "key" else cut(item) for key, item in value.items()}
    return value
text = sys.stdin.read()
print(json.dumps(cut(json.loads(text)), indent=2, ensure_ascii=False) if text.strip() else "")
'
}

# step TITLE CURL-ARGS...: runs curl, writes the command and the response to the file,
# and leaves the body in $BODY.
step() {
  local title="$1"
  shift
  local shown="curl -s" shown_arg
  for arg in "$@"; do
    shown_arg="${arg//$KEY/\$ISIDORUS_KEY}"
    shown_arg="${shown_arg//$API/\$API}"
    [[ -n "$JOB" ]] && shown_arg="${shown_arg//$JOB/\$JOB}"
    [[ -n "$FIRST" ]] && shown_arg="${shown_arg//$FIRST/\$FIRST}"
    case "$shown_arg" in
      *'"'*) shown+=" '$shown_arg'" ;; # a JSON body: no variables in it
      *' '* | *'?'* | *'&'* | *'$'*) shown+=" \"$shown_arg\"" ;;
      *) shown+=" $shown_arg" ;;
    esac
  done
  local raw status
  raw="$(curl -s -w '\n%{http_code}' "$@")"
  status="${raw##*$'\n'}"
  BODY="${raw%$'\n'*}"
  {
    printf '### %s\n\n```bash\n%s\n```\n\n' "$title" "$shown"
    if [[ -n "$BODY" ]]; then
      printf 'HTTP `%s`:\n\n```json\n' "$status"
      printf '%s' "$BODY" | shorten
      printf '```\n\n'
    else
      printf 'HTTP `%s`, no body.\n\n' "$status"
    fi
  } >> "$OUT"
}

field() { printf '%s' "$BODY" | "$PY" -c "import json, sys; print(json.load(sys.stdin)$1)"; }

curl -sf "$API/health/" > /dev/null || { echo "the API does not answer at $API: run make run first" >&2; exit 1; }
KEY="$("${RUN_ENV[@]}" "$PY" "$REPO_ROOT/manage.py" createapikey --user walkthrough --name curl \
  --create-user | grep -Eo '[0-9a-f]{12}\.[A-Za-z0-9_-]{43}' | head -1)"
JOB=""
FIRST=""
H=(-H "X-API-Key: $KEY")
J=(-H 'Content-Type: application/json')

cat > "$OUT" <<EOF
# The API, step by step, with real responses

Written by \`scripts/api_walkthrough.sh\` on $(date -u +%Y-%m-%d) against \`make run\`'s stack:
the API on \`$API\` (\`\$API\` below) and its demo site. Every response is the one that run
received; strings longer than 160 characters and lists longer than 3 items are cut (\`...\`),
and so is the secret part of the one raw key shown.
The key came from \`manage.py createapikey --user walkthrough --name curl --create-user\`
and is \`\$ISIDORUS_KEY\` below.

EOF

step "Create another key through the API (201)" "${H[@]}" "${J[@]}" -d '{"name": "ci"}' \
  "$API/api/v1/keys/"
SECOND_KEY="$(field '["id"]')"
step "List your keys" "${H[@]}" "$API/api/v1/keys/"
step "Revoke the new key (204)" "${H[@]}" -X DELETE "$API/api/v1/keys/$SECOND_KEY/"

step "Start a job (202)" "${H[@]}" "${J[@]}" -H 'Idempotency-Key: walkthrough-1' \
  -d "{\"url\": \"$SITE\", \"depth\": 1, \"max_pages\": 20}" "$API/api/v1/scrapings/"
JOB="$(field '["id"]')"
step "Start it again with the same Idempotency-Key: the same job (200)" "${H[@]}" "${J[@]}" \
  -H 'Idempotency-Key: walkthrough-1' -d "{\"url\": \"$SITE\", \"depth\": 1, \"max_pages\": 20}" \
  "$API/api/v1/scrapings/"

for _ in $(seq 1 120); do
  status="$(curl -s "${H[@]}" "$API/api/v1/scrapings/$JOB/" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["status"])')"
  case "$status" in COMPLETED | COMPLETED_WITH_ERRORS | FAILED | CANCELLED) break ;; esac
  sleep 1
done
step "Poll it until its status is terminal" "${H[@]}" "$API/api/v1/scrapings/$JOB/"
step "Page through its pages (with summaries)" "${H[@]}" "$API/api/v1/scrapings/$JOB/pages/?page_size=2"
NEXT="$(field '["next"]')"
step "Follow next" "${H[@]}" "$NEXT"
PAGE="$(field '["results"][0]["id"]')"
step "One page, whole" "${H[@]}" "$API/api/v1/scrapings/$JOB/pages/$PAGE/"
step "The job's top terms" "${H[@]}" "$API/api/v1/scrapings/$JOB/terms/?limit=5"
step "Search its pages" "${H[@]}" "$API/api/v1/search/?q=fresnel+lens&scraping=$JOB"
step "A bad start: clear errors, nothing started (400)" "${H[@]}" "${J[@]}" \
  -d '{"url": "ftp://example.com/", "depth": 9, "bogus": 1}' "$API/api/v1/scrapings/"

FIRST="$JOB"
step "Start a second job" "${H[@]}" "${J[@]}" -d "{\"url\": \"$SITE\", \"depth\": 2}" "$API/api/v1/scrapings/"
JOB="$(field '["id"]')"
step "Cancel it" "${H[@]}" -X POST "$API/api/v1/scrapings/$JOB/cancel/"
step "Cancel a finished job (409)" "${H[@]}" -X POST "$API/api/v1/scrapings/$FIRST/cancel/"
step "Delete the second job (204)" "${H[@]}" -X DELETE "$API/api/v1/scrapings/$JOB/"
step "It is gone (404)" "${H[@]}" "$API/api/v1/scrapings/$JOB/"
step "No key (401)" "$API/api/v1/scrapings/"
echo "wrote $OUT"
