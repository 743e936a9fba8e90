//! What the running service publishes for PersonIdentificationService: its WSDL with its real
//! address, the schemas it imports (each the repository's file), and the public file formats
//! that share Person.xsd.

#[macro_use]
mod common;

use common::soap::IDENT_PATH;
use common::xml::Node;
use common::{Backend, TestApp};

const WSDL: &str = include_str!("../wsdl/PersonIdentificationService.wsdl");
const FILE_ADDRESS: &str = "http://localhost:8080/soap/PersonIdentificationService";
const SCHEMAS: &[(&str, &str)] = &[
    ("Common.xsd", include_str!("../xsd/Common.xsd")),
    ("Person.xsd", include_str!("../xsd/Person.xsd")),
    (
        "PersonIdentification.xsd",
        include_str!("../xsd/PersonIdentification.xsd"),
    ),
    (
        "PersonRegister.xsd",
        include_str!("../xsd/PersonRegister.xsd"),
    ),
    ("Population.xsd", include_str!("../xsd/Population.xsd")),
    ("NrMutations.xsd", include_str!("../xsd/NrMutations.xsd")),
];

fn endpoint(app: &TestApp) -> String {
    format!("{}{IDENT_PATH}", app.base_url())
}

fn soap_addresses(wsdl: &Node) -> Vec<String> {
    wsdl.all("address")
        .into_iter()
        .filter_map(|a| a.attribute("location").map(str::to_owned))
        .collect()
}

/// The schema imports of a WSDL or XSD: (path the location resolves to from `base`,
/// namespace).
fn imports(document: &Node, base: &str) -> Vec<(String, String)> {
    let base = reqwest::Url::parse(base).expect("a URL");
    document
        .all("import")
        .into_iter()
        .map(|i| {
            let location = i.attribute("schemaLocation").expect("a schemaLocation");
            let url = base.join(location).expect("a relative URL");
            (
                url.path().to_owned(),
                i.attribute("namespace").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn the_wsdl_points_at_the_real_address_and_its_schemas_are_served(backend: Backend) {
    let app = TestApp::start(backend);
    let answer = app.get(&format!("{IDENT_PATH}?wsdl"));
    assert_eq!(answer.http_status, 200);
    assert!(answer.content_type.starts_with("text/xml"));
    assert_eq!(soap_addresses(answer.doc()), [endpoint(&app)]);
    assert_eq!(answer.body, WSDL.replace(FILE_ADDRESS, &endpoint(&app)));
    let wsdl_url = format!("{}?wsdl", endpoint(&app));
    assert_eq!(
        imports(answer.doc(), &wsdl_url),
        [
            (
                "/xsd/PersonIdentification.xsd",
                "urn:be:raas:types:PersonIdentification:v1"
            ),
            ("/xsd/Person.xsd", "urn:be:raas:types:Person:v1"),
            ("/xsd/Common.xsd", "urn:be:raas:types:common:v1"),
        ]
        .map(|(path, ns)| (path.to_owned(), ns.to_owned()))
    );

    // Every schema is served as it is in the repository, and what each imports is served too.
    for (name, file) in SCHEMAS {
        let path = format!("/xsd/{name}");
        let schema = app.get(&path);
        assert_eq!(schema.http_status, 200, "{path}");
        assert!(schema.content_type.starts_with("text/xml"), "{path}");
        assert_eq!(schema.body, *file, "{path}");
        let url = format!("{}{path}", app.base_url());
        for (imported, _) in imports(schema.doc(), &url) {
            assert_eq!(
                app.get(&imported).http_status,
                200,
                "{path} imports {imported}"
            );
        }
    }
    assert_eq!(app.get("/xsd/Secret.xsd").http_status, 404);
}

fn the_wsdl_uses_the_public_url_when_configured(backend: Backend) {
    let app = TestApp::start_with(backend, &["--public-url", "https://raas.example.be/"]);
    let answer = app.get(&format!("{IDENT_PATH}?wsdl"));
    assert_eq!(
        soap_addresses(answer.doc()),
        ["https://raas.example.be/soap/PersonIdentificationService"]
    );
    // Each service's WSDL names its own endpoint.
    let register = app.get("/soap/PersonRegisterService?wsdl");
    assert_eq!(
        soap_addresses(register.doc()),
        ["https://raas.example.be/soap/PersonRegisterService"]
    );
}

fn the_endpoint_wants_post(backend: Backend) {
    let app = TestApp::start(backend);
    assert_eq!(app.get(IDENT_PATH).http_status, 405);
    // A request of the other service is not an operation of this one.
    let register = common::Request::consult(&common::org_a(), common::NISS_1);
    let answer = app.post_ident(register.to_xml()).fault("UNKNOWN_OPERATION");
    assert!(
        answer
            .text(&["serviceFault", "detail", "diagnostic"])
            .unwrap_or_default()
            .contains("PersonIdentificationService"),
        "{}",
        answer.body
    );
    let entry = &app.audit(None)[0];
    assert_eq!(entry["service"], "PersonIdentificationService");
    assert_eq!(entry["operation"], "unknown");
    assert_eq!(entry["outcome"], "UNKNOWN_OPERATION");
}

backend_tests!(
    the_wsdl_points_at_the_real_address_and_its_schemas_are_served,
    the_wsdl_uses_the_public_url_when_configured,
    the_endpoint_wants_post,
);
