# What the integration tests share; sourced by them (they set $work first).
#   check DESCRIPTION COMMAND...   runs it, prints "ok: ..." or "FAILED: ..." with its
#                                  output indented, and counts in $passed / $failed
#   make_ca CN                     a throwaway CA: $work/ca.pem, $work/ca.key
#   issue NAME IP                  a P-256 certificate for NAME (DNS and IP SANs) signed by
#                                  it: $work/NAME.pem, $work/NAME.key

passed=0
failed=0
check() {  # description, command...
  local what=$1; shift
  if "$@" >"$work/last" 2>&1; then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAILED: $what"
    sed 's/^/    /' "$work/last"
    failed=$((failed + 1))
  fi
}

make_ca() {  # common name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
}
issue() {  # name, ip
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$work/$1.key" -out "$work/$1.csr" 2>/dev/null &&
    printf 'subjectAltName=DNS:%s,IP:%s\n' "$1" "$2" >"$work/$1.ext" &&
    openssl x509 -req -in "$work/$1.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
      -extfile "$work/$1.ext" -out "$work/$1.pem" 2>/dev/null
}
