# Two commands for a fresh Debian/Ubuntu machine with Rust installed:
#   make demo   install what is missing, build, run the main job on the bundled clip
#   make test   install what is missing, run the whole test suite
.PHONY: setup demo test bench

setup:
	@scripts/setup.sh

demo: setup
	cargo build --release -p avsync-app
	scripts/demo.sh

test: setup
	cargo test --workspace --no-fail-fast
