# Helpers for e2e/policy.bats. KWCTL: a real kwctl (1.35+) or the project's tgw-kwctl runner.
bats_require_minimum_version 1.5.0

setup() {
  cd "$BATS_TEST_DIRNAME/.." || exit 1
  KWCTL="${KWCTL:-$PWD/target/release/tgw-kwctl}"
  POLICY="${POLICY:-$PWD/policy/annotated-policy.wasm}"
}

# run_policy <kwctl run flags...>: evaluates $POLICY; stdout (the response) in $output.
run_policy() {
  run --separate-stderr "$KWCTL" run "$@" "$POLICY"
  echo "status = ${status}"
  echo "output = ${output}"
  echo "stderr = ${stderr}"
}

assert_one_response_line() {
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
}

assert_accepted() {
  assert_one_response_line
  jq -e '.allowed == true' <<<"$output" >/dev/null
}

# assert_rejected <phrase>: rejected, and the message contains the phrase.
assert_rejected() {
  assert_one_response_line
  jq -e '.allowed == false' <<<"$output" >/dev/null
  local message
  message="$(jq -r '.status.message // ""' <<<"$output")"
  echo "message = ${message}"
  [[ "$message" == *"$1"* ]]
}
