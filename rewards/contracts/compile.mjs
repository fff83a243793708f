// Compile the rewards contracts with solcjs (the wasm build in node_modules/solc), fully offline.
//
//   npm ci --prefix rewards/contracts
//   node rewards/contracts/compile.mjs rewards/contracts/build/artifacts.json
//
// The one argument is the output file: {compiler: {...}, contracts: {Name: {abi, bytecode,
// deployedBytecode}}}. Build output is never committed: rewards/contracts/build/ is git-ignored,
// and the tests (tests/rewards/evm.py) write into a pytest temporary folder.
//
// Why this shape: solc-select and py-solc-x download native compilers at run time, which cannot
// work offline; solcjs ships the compiler inside the npm package pinned by package-lock.json.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE_MODULES = path.join(HERE, "node_modules");
const SOURCES = ["DatadaoDistributor.sol", "TestToken.sol"];
const EXPECTED_VERSION = "0.8.28";
// Pinned rather than left to solc's default: OpenZeppelin 5.7 needs MCOPY (cancun), and py-evm,
// which runs the tests, does not implement the forks newer compilers target by default.
const EVM_VERSION = "cancun";
const OPTIMIZER = { enabled: true, runs: 200 };

function fail(message) {
  process.stderr.write(`compile.mjs: ${message}\n`);
  process.exit(1);
}

// solc asks for every import it cannot find among the given sources. Only package imports are
// served, from node_modules, and never from outside it, so a stray path cannot read the disk.
function findImports(importPath) {
  if (!importPath.startsWith("@openzeppelin/")) {
    return { error: `import not allowed: ${importPath}` };
  }
  const resolved = path.resolve(NODE_MODULES, importPath);
  if (!resolved.startsWith(NODE_MODULES + path.sep)) {
    return { error: `import escapes node_modules: ${importPath}` };
  }
  try {
    return { contents: fs.readFileSync(resolved, "utf8") };
  } catch (err) {
    return { error: `cannot read ${importPath}: ${err.message}` };
  }
}

function main() {
  const outPath = process.argv[2];
  if (!outPath) fail("usage: node compile.mjs OUT.json");

  const version = solc.version();
  if (!version.startsWith(`${EXPECTED_VERSION}+`)) {
    fail(`expected solc ${EXPECTED_VERSION}, found ${version}; run npm ci --prefix rewards/contracts`);
  }

  const sources = Object.fromEntries(
    SOURCES.map((name) => [name, { content: fs.readFileSync(path.join(HERE, name), "utf8") }]),
  );
  const input = {
    language: "Solidity",
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: OPTIMIZER,
      outputSelection: {
        "*": {
          "*": [
            "abi",
            "evm.bytecode.object",
            "evm.deployedBytecode.object",
            "evm.deployedBytecode.immutableReferences",
          ],
        },
      },
    },
  };

  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const diagnostics = output.errors ?? [];
  for (const d of diagnostics) process.stderr.write(`${d.formattedMessage ?? d.message}\n`);
  if (diagnostics.some((d) => d.severity === "error")) fail("compilation failed");

  const contracts = {};
  for (const name of SOURCES) {
    for (const [contractName, artifact] of Object.entries(output.contracts[name] ?? {})) {
      contracts[contractName] = {
        abi: artifact.abi,
        bytecode: `0x${artifact.evm.bytecode.object}`,
        deployedBytecode: `0x${artifact.evm.deployedBytecode.object}`,
        // Where the constructor writes immutables into the runtime code: a deployed
        // contract's code differs from deployedBytecode exactly there.
        immutableReferences: artifact.evm.deployedBytecode.immutableReferences ?? {},
      };
    }
  }

  const result = {
    compiler: { version, evmVersion: EVM_VERSION, optimizer: OPTIMIZER },
    contracts,
  };
  // Write then rename, so a reader never sees a half-written artifact.
  fs.mkdirSync(path.dirname(path.resolve(outPath)), { recursive: true });
  const tmp = `${outPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
  fs.renameSync(tmp, outPath);
}

main();
