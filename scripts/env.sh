# Shared by ./jwsgi, ./test and bench/: find a JDK >= 25 and make sure tools are installed.
# Sourced, not run.

# Sets JAVA_HOME to a JDK whose major version is at least 25: $JAVA_HOME if it qualifies,
# else the newest under /usr/lib/jvm.
find_jdk() {
    local candidate version
    for candidate in "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
        candidate="${candidate%/}"
        [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] || continue
        # The release file (every JDK since 9 has one) says the version without starting a JVM,
        # which would add a tenth of a second to every start.
        version="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$candidate/release" 2>/dev/null || true)"
        [ -n "$version" ] || version="$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 \
            | sed -n 's/^ *java\.specification\.version = //p')"
        if [ "${version%%.*}" -ge 25 ] 2>/dev/null; then
            export JAVA_HOME="$candidate"
            return 0
        fi
    done
    echo "jwsgi: needs a JDK 25 or newer; none in JAVA_HOME or /usr/lib/jvm." >&2
    echo "Install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
    return 1
}

# Installs the Debian packages given that are not installed yet.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "jwsgi: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

# Runs Maven quietly with the JDK found by find_jdk.
maven() {
    command -v mvn >/dev/null || ensure_packages maven
    # Maven's own libraries call sun.misc.Unsafe; silence JDK 25's warning about them.
    MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" mvn -B -q "$@"
}
