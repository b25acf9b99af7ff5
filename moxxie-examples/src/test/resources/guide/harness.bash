# Sourced by bash before every guide script (through BASH_ENV), so that the scripts stay as the guide
# prints them: their curl calls go to the test server instead of http://localhost:8080, and their sleeps
# are scaled by MOXXIE_SLEEP_SCALE (the test's demo runs faster than the default demo speed).
curl() {
  local args=() a
  for a in "$@"; do args+=("${a//http:\/\/localhost:8080/$MOXXIE_URL}"); done
  command curl --max-time 30 "${args[@]}"
}
sleep() {
  command sleep "$(awk -v s="$1" -v k="$MOXXIE_SLEEP_SCALE" 'BEGIN { printf "%.3f", s * k }')"
}
