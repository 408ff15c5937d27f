# Shared by the Fuzz/build*.sh scripts (sourced, POSIX sh): every module and target is compiled with the same
# sanitizer flags into the folder $B, one static library per module.
#   fuzz_setup DIR                      set B and F, create DIR
#   fuzz_module NAME [FLAGS...] -- SOURCE_DIR...   a static library from every .swift file under the folders
#   fuzz_target NAME SOURCE [FLAGS...]  a fuzzer binary from one file, linked with the FLAGS (-lX -L ...)
fuzz_setup() {
    B=$1
    mkdir -p "$B"
    F="-sanitize=fuzzer,address -parse-as-library -O -g -I $B"
}

fuzz_module() {
    name=$1; shift
    flags=""
    while [ "$1" != "--" ]; do flags="$flags $1"; shift; done
    shift
    # shellcheck disable=SC2046,SC2086
    swiftc $F $flags -module-name "$name" -emit-module -emit-module-path "$B/$name.swiftmodule" \
        -emit-library -static -o "$B/lib$name.a" $(find "$@" -name '*.swift' | sort)
}

fuzz_target() {
    name=$1; source=$2; shift 2
    # shellcheck disable=SC2086
    swiftc $F -module-name "$(basename "$source" .swift)" "$source" -L "$B" "$@" -o "$B/$name"
}
