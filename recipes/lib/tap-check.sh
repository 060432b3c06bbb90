# Shared by the recipes' test steps: checks as TAP 13 test points. The caller sets `scratch` (a
# directory for a check's output), `results` (an empty array: the report's lines), `count` and
# `failed` (0), globally or as locals of the function that calls `check`, and writes the report from
# `results` when the checks are done.

# check <description> <command> [args…]: runs one check (in this shell) as one test point; when it
# fails, what the command printed becomes the YAML diagnostic. (Check functions return their status
# explicitly: errexit does not apply inside an `if` condition.)
check() {
  local description="$1" output="$scratch/check.out" line
  shift
  count=$((count + 1))
  if "$@" >"$output" 2>&1; then
    results+=("ok $count - $description")
    printf 'ok %d - %s\n' "$count" "$description"
  else
    failed=$((failed + 1))
    [[ -s "$output" ]] || printf '(no output)\n' >"$output"
    results+=("not ok $count - $description" "  ---" "  message: |")
    while IFS= read -r line; do results+=("    $line"); done < <(head -n 20 -- "$output")
    results+=("  ...")
    printf 'not ok %d - %s\n' "$count" "$description"
    cat -- "$output"
  fi
}

# skip <description> <reason>: a test point not run, and why.
skip() {
  count=$((count + 1))
  results+=("ok $count - $1 # SKIP $2")
  printf 'ok %d - %s # SKIP %s\n' "$count" "$1" "$2"
}

# expect <what> <actual> <expected>
expect() {
  [[ "$2" == "$3" ]] && return 0
  printf '%s: got %s, want %s\n' "$1" "${2:-(nothing)}" "$3"
  return 1
}
