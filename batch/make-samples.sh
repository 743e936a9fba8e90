#!/usr/bin/env bash
# Makes the samples of batch/samples/ with the real code: a small SQLite database built with
# the CLI, persons from an NR feed registered over SOAP, a day of changes (an NR feed and a
# Dimona file), then `raas batch run` for today; the data files, vouchers and signatures it
# writes are copied here. The test key (batch/samples/test-key.pem) is made once by
# `raas batch keygen` and kept; its public half is written beside it.
#
#   batch/make-samples.sh            (builds target/debug/raas first; RAAS=path to use another)
#
# Needs curl. tests/batch_samples.rs checks the samples against their schemas and signatures.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
samples=$here/samples
if [ -z "${RAAS:-}" ]; then
    cargo build --quiet --manifest-path "$root/Cargo.toml" --bin raas
    RAAS=$root/target/debug/raas
fi
work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cbe=0202239951
key=$samples/test-key.pem
mkdir -p "$samples"
[ -f "$key" ] || "$RAAS" batch keygen -o "$key"
"$RAAS" --signing-key "$key" batch public-key > "$samples/test-key.pub.pem"

# Every command on the samples' own database, outbox and key, in the default time zone.
raas() {
    "$RAAS" --database-url "$work/samples.db" --outbox "$work/outbox" --inbox "$work/inbox" \
        --signing-key "$key" --batch-sender "raas samples" "$@"
}
today=$(TZ=Europe/Brussels date +%F)
year=${today%%-*}

raas migrate > /dev/null
raas admin org add --cbe "$cbe" --name "Sample Integrator" > /dev/null
printf 'sample-secret-0123456789\n' | raas admin credential add --cbe "$cbe" --username sample > /dev/null
raas admin dossier-type add --cbe "$cbe" --code EMPLOYEE --description "Employees" > /dev/null
raas admin subscription add --cbe "$cbe" --type PERSON_MUTATIONS > /dev/null
raas admin subscription add --cbe "$cbe" --type DIMONA_MUTATIONS \
    --authorisation "SCSZ/26/001" --valid-from "$year-01-01" > /dev/null

# The source's persons: three to register, and the number one of them is replaced by.
person() { # ssin last-name first-name birth-date gender
    printf '<newPerson id="%s"><person><p:ssin>%s</p:ssin><p:lastName>%s</p:lastName><p:firstName>%s</p:firstName><p:birthDate>%s</p:birthDate><p:gender>%s</p:gender><p:nationality>BE</p:nationality><p:address><p:street>Kerkstraat</p:street><p:houseNumber>12</p:houseNumber><p:postalCode>9000</p:postalCode><p:municipality>Gent</p:municipality><p:country>BE</p:country></p:address></person></newPerson>' \
        "p$1" "$1" "$2" "$3" "$4" "$5"
}
feed() { # file-id records
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<nrMutations xmlns="urn:be:raas:types:NrMutations:v1" xmlns:p="urn:be:raas:types:Person:v1" fileId="%s" createdAt="%sT05:00:00Z">%s</nrMutations>\n' \
        "$1" "$today" "$2"
}
feed SAMPLE-PERSONS "$(person 85073003328 'Van den Berghe' Jan 1985-07-30 M)$(person 17073003384 Peeters Lucas 2017-07-30 M)$(person 75060898009 Lefèvre Marie 1975-06-08 F)$(person 85073004516 Peeters Lucas 1985-07-30 M)" \
    > "$work/persons.xml"
raas import nr-mutations "$work/persons.xml" > /dev/null

# Registered over SOAP, as an integrator does (the batch engine off: no key for serve).
"$RAAS" --database-url "$work/samples.db" serve --listen 127.0.0.1:0 \
    > "$work/serve.out" 2> "$work/serve.log" &
server=$!
for _ in $(seq 1 100); do
    grep -q '^raas listening on ' "$work/serve.out" 2> /dev/null && break
    sleep 0.1
done
base=$(sed -n 's/^raas listening on //p' "$work/serve.out" | head -n 1)
[ -n "$base" ] || { cat "$work/serve.log" >&2; echo "error: raas serve did not start" >&2; exit 1; }
register() { # ssin
    local body
    body=$(printf '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>sample</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">sample-secret-0123456789</wsse:Password></wsse:UsernameToken></wsse:Security></soapenv:Header><soapenv:Body><reg:registerPersonRequest xmlns:reg="urn:be:raas:types:PersonRegister:v1" xmlns:common="urn:be:raas:types:common:v1"><reg:informationCustomer><common:ticket>sample-%s</common:ticket><common:timestampSent>%sT06:00:00.000Z</common:timestampSent><common:customerIdentification><common:cbeNumber>%s</common:cbeNumber></common:customerIdentification></reg:informationCustomer><reg:ssin>%s</reg:ssin><reg:dossierType>EMPLOYEE</reg:dossierType><reg:period><reg:beginDate>%s-01-01</reg:beginDate></reg:period></reg:registerPersonRequest></soapenv:Body></soapenv:Envelope>' \
        "$1" "$today" "$cbe" "$1" "$year")
    curl --silent --show-error --fail --noproxy '*' -H 'Content-Type: text/xml; charset=utf-8' \
        -H 'SOAPAction: ""' --data-binary "$body" "$base/soap/PersonRegisterService" > /dev/null
}
for ssin in 85073003328 17073003384 75060898009; do register "$ssin"; done
kill "$server"; wait "$server" 2> /dev/null || true; server=

# The day's changes: an identity change, a decease, a replacement; a Dimona IN.
feed SAMPLE-DAY "<identityChange id=\"c1\"><ssin>85073003328</ssin><changes><p:lastName>Van den Berghe-Maes</p:lastName><p:address><p:street>Veldstraat</p:street><p:houseNumber>3</p:houseNumber><p:postalCode>9000</p:postalCode><p:municipality>Gent</p:municipality><p:country>BE</p:country></p:address></changes></identityChange><decease id=\"c2\"><ssin>75060898009</ssin><deceaseDate>$today</deceaseDate></decease><replacement id=\"c3\"><oldSsin>17073003384</oldSsin><newSsin>85073004516</newSsin></replacement>" \
    > "$work/day.xml"
raas import nr-mutations "$work/day.xml" > /dev/null
printf '<?xml version="1.0" encoding="UTF-8"?>\n<dimona xmlns="urn:be:raas:types:Dimona:v1" fileId="SAMPLE-DIMONA" createdAt="%sT05:30:00Z"><dimonaIn id="d1"><periodId>1000001</periodId><employer><enterpriseNumber>0403019261</enterpriseNumber></employer><workerSsin>85073003328</workerSsin><startDate>%s</startDate><startHour>08:00</startHour><jointCommittee>200</jointCommittee><workerType>OTH</workerType><plannedHours>7.6</plannedHours></dimonaIn></dimona>\n' \
    "$today" "$today" > "$work/dimona.xml"
raas import dimona "$work/dimona.xml" > /dev/null

raas batch run --quiet --date "$today"
rm -f "$samples"/*_"$cbe"_*.xml "$samples"/*_"$cbe"_*.voucher.sig
cp "$work/outbox/$cbe"/* "$samples/"
ls "$samples"
