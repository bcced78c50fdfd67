#!/usr/bin/env bash
# Regenerates deploy/k8s/schemas, the JSON schemas `make k8s-validate` checks the manifests against.
# Usage: scripts/k8s-schemas.sh <kubernetes version> <cloudnative-pg version>
#   The Kubernetes kinds come from k8s.io/kubernetes' api/openapi-spec/swagger.json, fetched through the
#   Go module proxy; the CloudNativePG kinds from the CRDs of github.com/cloudnative-pg/cloudnative-pg
#   (config/crd/bases) in CNPG_DIR, a checkout of that tag, or cloned here when CNPG_DIR is unset.
# Add a kind here when the manifests start using one (kubeconform refuses a kind without a schema).
set -euo pipefail
k8s=${1:?kubernetes version, e.g. v1.36.3}
cnpg=${2:?cloudnative-pg version, e.g. v1.30.0}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dir=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
if [ -z "${CNPG_DIR:-}" ]; then
	git clone --quiet --depth 1 --branch "$cnpg" https://github.com/cloudnative-pg/cloudnative-pg "$work/cnpg"
	CNPG_DIR=$work/cnpg
fi
(cd "$root/tools" && GOWORK=off go build -o "$work/k8sschemas" ./k8sschemas)
rm -f "$root"/deploy/k8s/schemas/*.json
"$work/k8sschemas" -swagger "$dir/api/openapi-spec/swagger.json" -out "$root/deploy/k8s/schemas" \
	-kinds v1/Namespace,v1/ConfigMap,v1/Secret,v1/Service,v1/ServiceAccount,apps/v1/Deployment,apps/v1/StatefulSet,policy/v1/PodDisruptionBudget,autoscaling/v2/HorizontalPodAutoscaler,networking.k8s.io/v1/NetworkPolicy,batch/v1/Job,rbac.authorization.k8s.io/v1/Role,rbac.authorization.k8s.io/v1/RoleBinding \
	"$CNPG_DIR"/config/crd/bases/postgresql.cnpg.io_{clusters,poolers,scheduledbackups}.yaml
echo "deploy/k8s/schemas: Kubernetes $k8s, CloudNativePG $cnpg"
