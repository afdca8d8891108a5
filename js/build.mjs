// Bundle the front end (and plotly.js) into one ES module for anywidget,
// ../widget_callbacks/static/widget.js (its `_esm`), and minify its styles
// into ../widget_callbacks/static/widget.css (its `_css`). Run with `npm run build`.
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = join(here, "..", "widget_callbacks", "static");
const outfile = join(staticDir, "widget.js");
const cssOutfile = join(staticDir, "widget.css");
const plotlyPkg = JSON.parse(
  readFileSync(join(here, "node_modules", "plotly.js-basic-dist-min", "package.json"), "utf8"),
);
// The dist's own header is not a "legal" comment to esbuild, so keep its notice here.
const banner = `/*! widget_callbacks front end | bundles plotly.js (basic) v${plotlyPkg.version}, Copyright 2012-2026 Plotly, Inc., MIT license */`;

/** Fail the build when the bundle grows past this (tests/test_js.py checks it too). */
const MAX_BYTES = 1_500_000;

await esbuild.build({
  entryPoints: [join(here, "src", "widget.js")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "none",
  banner: { js: banner },
  logLevel: "warning",
});

await esbuild.build({
  entryPoints: [join(here, "src", "widget.css")],
  outfile: cssOutfile,
  bundle: true,
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});
console.log(`wrote ${cssOutfile} (${statSync(cssOutfile).size} bytes)`);

const size = statSync(outfile).size;
console.log(`wrote ${outfile} (${size} bytes)`);
if (size > MAX_BYTES) {
  console.error(`bundle is ${size} bytes, over the ${MAX_BYTES} byte budget`);
  process.exit(1);
}
