-- Every passport version the node has run, as its file was: a case stays on the version it was
-- registered under (cases.passport_version) while an edited passport (same code and region, a new
-- version) applies to new cases. A file changed under a version already stored is refused (its
-- digest differs), so one version means one regulation.
CREATE TABLE passport_versions (
    code       text        NOT NULL,
    region     text        NOT NULL,
    version    integer     NOT NULL,
    digest     text        NOT NULL,
    body       bytea       NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, region, version)
);
