/**
 * Python that loads the `packaging` releases our PEP 440/508 code is compared with (shared by
 * test/python-pep440.test.ts and test/python-pep508.test.ts).
 */
// The reference generations: pip's vendored packaging and the installed one, plus any extra
// packaging source trees named in LAMBDA_CD_EXTRA_PACKAGING (directories holding `packaging/`, to
// check another release by hand, e.g. the 24.1 that pip 24.2 vendors).
export const LOAD_GENERATIONS = String.raw`
import importlib, importlib.util, json, os, sys, warnings
warnings.simplefilter("ignore")
names = ["pip._vendor.packaging"]
try:
    import packaging
    names.append("packaging")
except ImportError:
    pass
for index, path in enumerate(p for p in os.environ.get("LAMBDA_CD_EXTRA_PACKAGING", "").split(os.pathsep) if p):
    name = "packaging_reference%d" % index
    init = os.path.join(path, "packaging", "__init__.py")
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[os.path.dirname(init)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    names.append(name)
gens = [{"release": importlib.import_module(n).__version__,
         **{part: importlib.import_module(n + "." + part) for part in ("version", "specifiers", "markers", "requirements", "utils")}}
        for n in names]

def attempt(f):
    try:
        return f()
    except Exception:
        return None

def cell(answer):
    return "E" if answer is None else "T" if answer else "F"
`;

/** A seeded pseudo-random source (mulberry32): generated corpora are the same on every run. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
