"""Change sources: what changed, collected by itself (the model registry), recorded as deploys."""
