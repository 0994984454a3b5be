"""The deployment artefacts: the Dockerfile, make and CI, the Kubernetes manifests."""
