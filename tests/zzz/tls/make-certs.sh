#!/usr/bin/env bash
# Makes the certificates and keys the TLS tests use, with the openssl
# command line, into DIR (created). Nothing here is secret: the keys live
# only in the build tree.
#
#   ca.pem                 root CA (EC P-256), the trust anchor for clients
#   inter.pem              intermediate CA, signed by the root
#   ec-chain.pem           leaf "localhost" (EC P-256), then the intermediate
#   ec-key.pem             its key as "EC PRIVATE KEY" (SEC 1)
#   ec-key-pkcs8.pem       the same key as "PRIVATE KEY" (PKCS#8)
#   rsa-chain.pem          leaf "localhost" (RSA 2048), then the intermediate
#   rsa-key.pem            its key as "RSA PRIVATE KEY" (PKCS#1)
#   rsa-key-pkcs8.pem      the same key as "PRIVATE KEY" (PKCS#8)
#   p384-chain.pem         leaf "localhost" (EC P-384), then the intermediate
#   p384-key.pem           its key (PKCS#8)
#   p521-chain.pem         leaf "localhost" (EC P-521), then the intermediate
#   p521-key.pem           its key (PKCS#8)
#   alpha-chain.pem        leaf "alpha.test" (EC P-256) + intermediate, for SNI
#   alpha-key.pem
#   beta-chain.pem         leaf "beta.test" and "*.beta.test" (RSA 2048) +
#   beta-key.pem           intermediate, for SNI
#   ed25519-key.pem        an Ed25519 key (a type zzz does not support)
#
# Every leaf also names 127.0.0.1 (IP) so clients can verify by address.
#
#   tests/zzz/tls/make-certs.sh DIR
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

days=3650
ossl() { openssl "$@" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }; }

# Root and intermediate CAs.
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
    -subj "/CN=zzz test root" -keyout "$tmp/ca-key.pem" -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=zzz test intermediate" -keyout "$tmp/inter-key.pem" -out "$tmp/inter.csr"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$tmp/inter.ext"
ossl x509 -req -in "$tmp/inter.csr" -CA ca.pem -CAkey "$tmp/ca-key.pem" -CAcreateserial \
    -days $days -extfile "$tmp/inter.ext" -out inter.pem

# leaf NAME KEYOPTS SANS: a leaf signed by the intermediate; prints nothing,
# leaves $tmp/leaf.pem and $tmp/leaf-key.pem (PKCS#8).
leaf() {
    local cn=$1 sans=$2
    shift 2
    ossl req -newkey "$@" -nodes -subj "/CN=$cn" -keyout "$tmp/leaf-key.pem" -out "$tmp/leaf.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
        "$sans" >"$tmp/leaf.ext"
    ossl x509 -req -in "$tmp/leaf.csr" -CA inter.pem -CAkey "$tmp/inter-key.pem" -CAcreateserial \
        -days $days -extfile "$tmp/leaf.ext" -out "$tmp/leaf.pem"
}

leaf localhost "DNS:localhost,IP:127.0.0.1" ec -pkeyopt ec_paramgen_curve:P-256
cat "$tmp/leaf.pem" inter.pem >ec-chain.pem
cp "$tmp/leaf-key.pem" ec-key-pkcs8.pem
ossl ec -in "$tmp/leaf-key.pem" -out ec-key.pem

leaf localhost "DNS:localhost,IP:127.0.0.1" rsa -pkeyopt rsa_keygen_bits:2048
cat "$tmp/leaf.pem" inter.pem >rsa-chain.pem
cp "$tmp/leaf-key.pem" rsa-key-pkcs8.pem
ossl rsa -in "$tmp/leaf-key.pem" -traditional -out rsa-key.pem

leaf localhost "DNS:localhost,IP:127.0.0.1" ec -pkeyopt ec_paramgen_curve:P-384
cat "$tmp/leaf.pem" inter.pem >p384-chain.pem
cp "$tmp/leaf-key.pem" p384-key.pem

leaf localhost "DNS:localhost,IP:127.0.0.1" ec -pkeyopt ec_paramgen_curve:P-521
cat "$tmp/leaf.pem" inter.pem >p521-chain.pem
cp "$tmp/leaf-key.pem" p521-key.pem

leaf alpha.test "DNS:alpha.test,IP:127.0.0.1" ec -pkeyopt ec_paramgen_curve:P-256
cat "$tmp/leaf.pem" inter.pem >alpha-chain.pem
cp "$tmp/leaf-key.pem" alpha-key.pem

leaf beta.test "DNS:beta.test,DNS:*.beta.test,IP:127.0.0.1" rsa -pkeyopt rsa_keygen_bits:2048
cat "$tmp/leaf.pem" inter.pem >beta-chain.pem
cp "$tmp/leaf-key.pem" beta-key.pem

ossl genpkey -algorithm ed25519 -out ed25519-key.pem
rm -f ./*.srl
