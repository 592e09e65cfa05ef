"""run.py: run every test_* function of tests/integration/test_*.py against
one shared stack (a test that needs other settings starts its own), print
`name ... ok|FAIL|skip (reason)` per test and `integration: N passed, N
failed, N skipped` last.  Arguments filter tests by substring."""
import importlib.util
import inspect
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def collect(filters):
    here = os.path.dirname(os.path.abspath(__file__))
    tests = []
    for name in sorted(os.listdir(here)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(here, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        fns = [f for n, f in inspect.getmembers(mod, inspect.isfunction)
               if n.startswith("test_") and f.__module__ == mod.__name__]
        fns.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in fns:
            full = "%s.%s" % (name[:-3], f.__name__)
            if not filters or any(x in full for x in filters):
                tests.append((full, f))
    return tests


def main():
    tests = collect(sys.argv[1:])
    passed = failed = skipped = 0
    stack = harness.Stack()
    try:
        for full, fn in tests:
            t0 = time.time()
            try:
                fn(stack)
                print("%s ... ok (%.1fs)" % (full, time.time() - t0), flush=True)
                passed += 1
            except harness.Skip as e:
                print("%s ... skip (%s)" % (full, e), flush=True)
                skipped += 1
            except Exception:
                print("%s ... FAIL (%.1fs)" % (full, time.time() - t0), flush=True)
                traceback.print_exc(file=sys.stdout)
                failed += 1
        reports = stack.sanitizer_reports()
        if reports:
            print("sanitizers ... FAIL")
            print("\n".join(reports)[:20000])
            failed += 1
        else:
            print("sanitizers ... ok")
            passed += 1
    finally:
        stack.close(keep=failed > 0 and bool(os.environ.get("TRIPLINE_KEEP")))
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
