//! What the running service publishes: its WSDL with its real address, the schemas the WSDL
//! imports, and a liveness probe.

#[macro_use]
mod common;

use common::xml::Node;
use common::{Backend, TestApp};

const WSDL: &str = include_str!("../wsdl/PersonRegisterService.wsdl");
const COMMON_XSD: &str = include_str!("../xsd/Common.xsd");
const PERSON_REGISTER_XSD: &str = include_str!("../xsd/PersonRegister.xsd");
const FILE_ADDRESS: &str = "http://localhost:8080/soap/PersonRegisterService";

fn soap_address(wsdl: &str) -> Vec<String> {
    Node::parse(wsdl)
        .expect("the WSDL is XML")
        .all("address")
        .into_iter()
        .filter_map(|a| a.attribute("location").map(str::to_owned))
        .collect()
}

fn wsdl_points_at_the_real_address(backend: Backend) {
    let app = TestApp::start(backend);
    let answer = app.get("/soap/PersonRegisterService?wsdl");
    assert_eq!(answer.http_status, 200);
    assert!(
        answer.content_type.starts_with("text/xml"),
        "{}",
        answer.content_type
    );
    assert_eq!(soap_address(&answer.body), [app.endpoint()]);
    // Apart from the address, the contract is the one in the repository.
    assert_eq!(answer.body, WSDL.replace(FILE_ADDRESS, &app.endpoint()));

    // The schemas it imports resolve, relative to the WSDL's own URL, to the files.
    let wsdl_url = reqwest::Url::parse(&format!("{}?wsdl", app.endpoint())).expect("a URL");
    let imports: Vec<(String, String)> = answer
        .doc()
        .all("import")
        .into_iter()
        .map(|i| {
            let location = i.attribute("schemaLocation").expect("a schemaLocation");
            let url = wsdl_url.join(location).expect("a relative URL");
            (
                url.path().to_owned(),
                i.attribute("namespace").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        imports,
        [
            (
                "/xsd/PersonRegister.xsd".to_owned(),
                "urn:be:raas:types:PersonRegister:v1".to_owned()
            ),
            (
                "/xsd/Common.xsd".to_owned(),
                "urn:be:raas:types:common:v1".to_owned()
            ),
        ]
    );
    for (path, file) in [
        ("/xsd/PersonRegister.xsd", PERSON_REGISTER_XSD),
        ("/xsd/Common.xsd", COMMON_XSD),
    ] {
        let schema = app.get(path);
        assert_eq!(schema.http_status, 200, "{path}");
        assert!(schema.content_type.starts_with("text/xml"), "{path}");
        assert_eq!(schema.body, file, "{path}");
    }
    assert_eq!(app.get("/xsd/Secret.xsd").http_status, 404);
    assert_eq!(app.get("/xsd/..%2FCargo.toml").http_status, 404);
}

fn wsdl_uses_the_public_url_when_configured(backend: Backend) {
    let app = TestApp::start_with(backend, &["--public-url", "https://raas.example.be/"]);
    let answer = app.get("/soap/PersonRegisterService?wsdl");
    assert_eq!(
        soap_address(&answer.body),
        ["https://raas.example.be/soap/PersonRegisterService"]
    );
}

fn livez_answers_ok_and_the_endpoint_wants_post(backend: Backend) {
    let app = TestApp::start(backend);
    let live = app.get("/livez");
    assert_eq!((live.http_status, live.body.as_str()), (200, "ok"));
    assert_eq!(app.get("/soap/PersonRegisterService").http_status, 405);
    assert_eq!(app.get("/nothing-here").http_status, 404);
}

backend_tests!(
    wsdl_points_at_the_real_address,
    wsdl_uses_the_public_url_when_configured,
    livez_answers_ok_and_the_endpoint_wants_post,
);
