-- Every result document of an application as РШЭП issued it (StatusNotification.results): the signed
-- text and its printable form (PDF) with their detached signatures. The digest (SHA-256 of the signed
-- text, hex) is what a printed result's QR code carries to /verify, with the number and the document's id.
CREATE TABLE result_documents (
    application_id      uuid NOT NULL REFERENCES applications (id),
    position            int NOT NULL,
    doc_id              text NOT NULL,
    kind                text NOT NULL DEFAULT '',
    name_ru             text NOT NULL DEFAULT '',
    name_kk             text NOT NULL DEFAULT '',
    media_type          text NOT NULL,
    content             bytea NOT NULL,
    signature           bytea NOT NULL,
    digest              text NOT NULL,
    printable           bytea,
    printable_signature bytea,
    verify_url          text NOT NULL DEFAULT '',
    PRIMARY KEY (application_id, position)
);
CREATE INDEX result_documents_digest ON result_documents (digest);
