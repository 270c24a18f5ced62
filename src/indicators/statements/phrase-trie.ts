import type { CueName } from './statement-types';

/** A node of the compiled phrase trie. */
export interface TrieNode {
  exact: Map<string, TrieNode> | null;
  /** Wildcard edges: token prefix → child (`switch*`). */
  prefix: Array<[string, TrieNode]> | null;
  /**
   * `prefix` grouped by the first UTF-16 unit of the prefix, each group in `prefix` order (a token can only
   * start with prefixes of its own first unit): matching tries a handful of edges, not all of them.
   * Null when the node has no prefix edges or one of them is empty (then `prefix` is scanned).
   */
  prefixByFirst: Map<string, Array<[string, TrieNode]>> | null;
  /** Cues whose phrase ends here; an empty list marks an ignore phrase (matched, counts nothing). */
  cues: CueName[] | null;
  /** The phrase as written in the lexicon (first one wins). */
  phrase: string | null;
}

const newNode = (): TrieNode => ({ exact: null, prefix: null, prefixByFirst: null, cues: null, phrase: null });

/**
 * Compiles cue phrases into a token trie. `tokenize` turns one written word into the tokens the
 * analyser will see (so "can't" becomes the same tokens as in text); a trailing `*` on a word
 * makes its last token a prefix match.
 */
export function compilePhrases(
  cues: Readonly<Record<CueName, readonly string[]>>,
  tokenize: (word: string) => string[],
  ignore: readonly string[] = [],
): TrieNode {
  const root = newNode();
  const entries = [...(Object.entries(cues) as [CueName, readonly string[]][]), [null, ignore] as const];
  for (const [cue, phrases] of entries) {
    for (const phrase of phrases) {
      let node = root;
      const words = phrase.trim().split(/\s+/);
      let ok = true;
      for (const word of words) {
        const wild = word.length > 1 && word.endsWith('*');
        const toks = tokenize(wild ? word.slice(0, -1) : word);
        if (toks.length === 0) {
          ok = false;
          break;
        }
        toks.forEach((tok, k) => {
          const isPrefix = wild && k === toks.length - 1;
          if (isPrefix) {
            node.prefix ??= [];
            let edge = node.prefix.find(([p]) => p === tok);
            if (!edge) {
              edge = [tok, newNode()];
              node.prefix.push(edge);
            }
            node = edge[1];
          } else {
            node.exact ??= new Map();
            let child = node.exact.get(tok);
            if (!child) {
              child = newNode();
              node.exact.set(tok, child);
            }
            node = child;
          }
        });
      }
      if (!ok || node === root) continue;
      node.cues ??= [];
      if (cue !== null && !node.cues.includes(cue)) node.cues.push(cue);
      node.phrase ??= phrase;
    }
  }
  indexPrefixes(root);
  return root;
}

/** Fills `prefixByFirst` on every node with prefix edges. */
function indexPrefixes(node: TrieNode): void {
  if (node.prefix && node.prefix.every(([p]) => p.length > 0)) {
    const byFirst = new Map<string, Array<[string, TrieNode]>>();
    for (const edge of node.prefix) {
      const first = edge[0][0]!;
      const group = byFirst.get(first);
      if (group) group.push(edge);
      else byFirst.set(first, [edge]);
    }
    node.prefixByFirst = byFirst;
  }
  if (node.exact) for (const child of node.exact.values()) indexPrefixes(child);
  if (node.prefix) for (const [, child] of node.prefix) indexPrefixes(child);
}

/** Reusable result slot so matching allocates nothing per token. */
export interface TrieHit {
  end: number;
  node: TrieNode | null;
}

/**
 * Finds the longest phrase starting at token `i`; writes it into `hit` (end = exclusive token
 * index, node = terminal) and returns true when one was found.
 */
export function longestMatch(root: TrieNode, norms: readonly string[], i: number, hit: TrieHit): boolean {
  hit.end = -1;
  hit.node = null;
  walk(root, norms, i, hit);
  return hit.node !== null;
}

function walk(node: TrieNode, norms: readonly string[], j: number, hit: TrieHit): void {
  if (node.cues && j > hit.end) {
    hit.end = j;
    hit.node = node;
  }
  if (j >= norms.length) return;
  const tok = norms[j]!;
  const child = node.exact?.get(tok);
  if (child) walk(child, norms, j + 1, hit);
  const edges = node.prefixByFirst ? node.prefixByFirst.get(tok[0]!) : node.prefix;
  if (edges) {
    for (let k = 0; k < edges.length; k++) {
      const edge = edges[k]!;
      if (tok.startsWith(edge[0])) walk(edge[1], norms, j + 1, hit);
    }
  }
}
