"""The independent judge of tests/fuzz_envelope.rs: reads documents (a 10-digit byte length,
a newline, the UTF-8 bytes, a newline, repeated) from the file named on the command line and
prints, for each, one JSON line: {"ok": false, "error": ...} when expat refuses it, else
{"ok": true, "elements": [[namespace, local name, direct text], ...]} in document order."""

import json
import sys
import xml.parsers.expat


def judge(data):
    parser = xml.parsers.expat.ParserCreate(namespace_separator="\x01")
    elements = []
    stack = []

    def start(name, _attributes):
        ns, _, local = name.rpartition("\x01")
        stack.append(len(elements))
        elements.append([ns, local, ""])

    def end(_name):
        stack.pop()

    def text(data):
        if stack:
            elements[stack[-1]][2] += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as error:
        at = parser.ErrorByteIndex
        token = data[at:].split(b">")[0].split(b"=")[0].split()[:1]
        if error.code == xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_INVALID_TOKEN] and token and max(token[0]) >= 0x80:
            # expat knows the name characters of XML 1.0's fourth edition; the fifth allows
            # far more non-ASCII ones. Such a name is told apart, not judged.
            return {"ok": "edition", "token": token[0].decode("utf-8", "replace")}
        near = data[max(0, at - 40) : at + 40].decode("utf-8", "replace")
        return {"ok": False, "error": f"{error} near {near!r}"}
    return {"ok": True, "elements": elements}


def main():
    with open(sys.argv[1], "rb") as documents:
        while True:
            header = documents.read(11)
            if not header:
                break
            length = int(header[:10])
            data = documents.read(length)
            documents.read(1)
            print(json.dumps(judge(data)))


main()
