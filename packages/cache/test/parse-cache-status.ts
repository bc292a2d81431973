import { parseList, Token, type Item } from 'structured-headers';

/** A Cache-Status value parsed as RFC 8941 requires (throws on anything else): one member, its name and parameters. */
export function parseCacheStatus(header: string): { name: string; params: Record<string, unknown> } {
  const list = parseList(header);
  expect(list).toHaveLength(1);
  const [value, params] = list[0] as Item;
  expect(value).toBeInstanceOf(Token); // RFC 9211: the cache's name is a token (or a string)
  const plain = (v: unknown) => (v instanceof Token ? v.toString() : v);
  return { name: (value as Token).toString(), params: Object.fromEntries([...params].map(([k, v]) => [k, plain(v)])) };
}
