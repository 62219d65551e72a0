// Which picked strings are free text a human wrote (a title, a note, a message) — the backend
// text worth marking `untrusted` so the model reads it as data. Ids, dates, cursors, URLs, codes
// and states are machine values: a warning on each of them (29 for five tools on one real spec)
// buries the few that matter.

/** Field names of machine-made strings: ids, references, times, cursors, links, codes and states. */
const MACHINE_NAME =
  /(?:^|[_-])(?:id|ids|uuid|guid|key|ref|sha|hash|etag|cursor|token|slug|url|uri|href|link|path|email|phone|date|time|timestamp|version|currency|locale|lang|language|country|timezone|tz|mime|type|kind|status|state|code|format|color|colour|at|on)$|(?:Id|Ids|Uuid|Key|Ref|Sha|Hash|Cursor|Token|Slug|Url|Uri|Href|Link|Path|Email|Date|Time|At|On|Version|Type|Kind|Status|State|Code)$|^(?:id|uuid|guid|sha|etag|cursor|next|prev|previous|url|uri|href|email|created|updated|deleted|modified|currency|locale|status|state|type|kind)$/;

/** A picked string leaf at `pick` holds human-written free text (leaf name decides). */
export function isHumanFreeText(pick: string): boolean {
  const leaf = /([^.[\]]+)(?:\[\])*$/.exec(pick)?.[1] ?? pick;
  return !MACHINE_NAME.test(leaf);
}
