#!/bin/sh
# Regenerates the TLS fixtures of the HTTP_GET/SSL_GET probe tests (test/check/probes/http-tls.test.ts).
# Run once from this directory; the outputs are checked in. expired.pem is made with -days 0, so it has
# expired by the time anyone uses it. The client key is encrypted with the password "secret".
set -e
ec() { echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256"; }
openssl req -x509 $(ec) -nodes -keyout ca.key -out ca.pem -subj "/CN=keepalived-ts test CA" -days 36500
san() { printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$1" > ext.cnf; }
leaf() { # name days cn san
  openssl req $(ec) -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$3"
  san "$4"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "$5" -days "$2" -extfile ext.cnf -out "$1.pem"
  rm -f "$1.csr"
}
leaf good 36500 good.example "DNS:good.example" 1
leaf expired 0 good.example "DNS:good.example" 2
leaf wrongname 36500 other.example "DNS:other.example" 3
openssl req -x509 $(ec) -nodes -keyout self.key -out self.pem -subj "/CN=good.example" -days 36500 \
  -addext "subjectAltName=DNS:good.example"
openssl req $(ec) -nodes -keyout client.plain.key -out client.csr -subj "/CN=keepalived-ts client"
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > ext.cnf
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial 4 -days 36500 -extfile ext.cnf -out client.pem
openssl pkcs8 -topk8 -in client.plain.key -out client.key -v2 aes-256-cbc -passout pass:secret
rm -f client.csr client.plain.key ext.cnf ca.srl
