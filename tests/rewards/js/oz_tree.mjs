// The reference for rewards/merkle.py: OpenZeppelin's StandardMerkleTree over
// ["address", "uint256"] leaves. Reads a JSON array of [address, "decimal amount"] pairs
// on stdin (amounts as strings: JSON numbers lose precision past 2**53).
//
//   node oz_tree.mjs          line 1: JSON.stringify(tree.dump()), exactly as OZ writes it
//                             line 2: JSON.stringify of every proof, in input order
//   node oz_tree.mjs --bench  one JSON object: root, seconds to build and to prove all,
//                             and the sha256 of line 2 above (to compare without shipping it)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';

const values = JSON.parse(readFileSync(0, 'utf8'));
const bench = process.argv.includes('--bench');

const t0 = performance.now();
const tree = StandardMerkleTree.of(values, ['address', 'uint256']);
const t1 = performance.now();
const proofs = values.map((_, i) => tree.getProof(i));
const t2 = performance.now();

if (bench) {
  const digest = createHash('sha256').update(JSON.stringify(proofs)).digest('hex');
  process.stdout.write(
    JSON.stringify({
      root: tree.root,
      tree_seconds: (t1 - t0) / 1000,
      proofs_seconds: (t2 - t1) / 1000,
      proofs_sha256: digest,
    }) + '\n',
  );
} else {
  process.stdout.write(JSON.stringify(tree.dump()) + '\n' + JSON.stringify(proofs) + '\n');
}
