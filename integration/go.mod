module github.com/egov-suite/egov/integration

go 1.26.0
