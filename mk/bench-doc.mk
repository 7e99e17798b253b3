# mk/bench-doc.mk - put the last `make bench` run (bench.json) into
# docs/bench.md, between its <!-- bench-run --> markers.
.PHONY: bench-doc
bench-doc:
	@python3 tools/bench-doc.py bench.json docs/bench.md
