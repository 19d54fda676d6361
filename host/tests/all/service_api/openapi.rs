//! The OpenAPI document: every route of the access matrix in it, and valid against the
//! OAS 3.1 meta-schema with every operation complete (issue 22).

use super::*;

#[test]
fn the_openapi_document_lists_every_route_of_the_matrix() {
    let f = start(|_| {});
    let (status, body) = send(&agent(), &f.base, "GET", "/openapi.json", None);
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    for (method, template, _) in ROUTES {
        // The document itself, and the console's files (a page and its assets, not API).
        if ["/openapi.json", "/", "/assets/{*path}"].contains(template) {
            continue;
        }
        let op = &doc["paths"][template][method.to_lowercase()];
        assert!(
            op.is_object(),
            "{method} {template} missing from /openapi.json"
        );
    }
}

/// Issue 22: the document is valid OpenAPI 3.1 (the OAI's meta-schema, committed under
/// `oas/`) and complete: every path template's parameters are declared, every operation
/// that needs a token documents the refusals, digests carry their pattern and the paging
/// bounds are the ones the server enforces.
#[test]
fn the_openapi_document_is_valid_and_complete() {
    let f = start(|_| {});
    let agent = agent();
    let (status, body) = send(&agent, &f.base, "GET", "/openapi.json", None);
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    let meta: Value =
        serde_json::from_str(include_str!("../oas/schema-3.1-2022-10-07.json")).unwrap();
    let validator = jsonschema::draft202012::new(&meta).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid OpenAPI 3.1:\n{}",
        errors.join("\n")
    );
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let names: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .collect();
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for name in &names {
                let declared = params
                    .iter()
                    .any(|p| p["name"] == *name && p["in"] == "path" && p["required"] == true);
                if !declared {
                    problems.push(format!(
                        "{method} {path}: path parameter `{name}` not declared"
                    ));
                }
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let codes: Vec<&str> = ["400", "401", "403", "429"]
                .into_iter()
                .filter(|c| {
                    secured
                        && (c != &"400" || !params.is_empty() || op.get("requestBody").is_some())
                })
                .collect();
            for code in codes {
                let r = &op["responses"][code];
                if r["content"]["application/json"]["schema"]["$ref"]
                    != "#/components/schemas/ApiError"
                {
                    problems.push(format!("{method} {path}: no {code} ApiError response"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let digest = doc["paths"]["/v1/plugins/{digest}"]["get"]["parameters"][0]["schema"].clone();
    assert_eq!(digest["pattern"], "^[0-9a-f]{64}$", "{digest}");
    assert_eq!(
        doc["components"]["schemas"]["DeployRequest"]["properties"]["plugin"]["pattern"],
        "^[0-9a-f]{64}$"
    );
    let limit = doc["paths"]["/v1/audit"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()["schema"]
        .clone();
    assert_eq!(limit["maximum"], 10_000, "{limit}");
    // The documented bound is enforced, not clamped, and the refusal is JSON.
    let auditor = f.token(Role::Auditor);
    let (status, body) = send(
        &agent,
        &f.base,
        "GET",
        "/v1/audit?limit=10001",
        Some(auditor),
    );
    assert_eq!(status, 400, "{body}");
    assert_json_error(status, &body, "limit=10001");
    let (status, body) = send(&agent, &f.base, "GET", "/v1/audit?limit=ten", Some(auditor));
    assert_eq!(status, 400, "{body}");
    assert_json_error(status, &body, "limit=ten");
    assert_eq!(
        send(
            &agent,
            &f.base,
            "GET",
            "/v1/audit?limit=10000",
            Some(auditor)
        )
        .0,
        200
    );
    // The upload is documented as binary, not as an array of integers.
    let upload = &doc["paths"]["/v1/plugins"]["post"]["requestBody"]["content"];
    assert_eq!(
        upload["application/wasm"]["schema"]["format"], "binary",
        "{upload}"
    );
}
