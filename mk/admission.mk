# The policy behind the real API server (webhook in e2e/src/webhook.rs).
.PHONY: e2e-admission
e2e-admission: policy control-plane ## Hijack attempts through a real kube-apiserver, answered by the policy via a webhook
	$(CARGO) test --locked -p tgw-e2e --test cluster_admission
