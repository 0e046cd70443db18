// Pure helpers of the administration screens: numbers, form values, paging, an invite's state,
// audit details as text. No DOM, no API: tests/frontend/admin.test.mjs.

/** A count in the UI's language ("12,345" / "12.345"). */
export function formatNumber(n, locale) {
  return new Intl.NumberFormat(locale).format(Number(n) || 0);
}

/** How much of `budget` is used, 0..100 (a bar's width), or null when there is no budget. */
export function percentUsed(used, budget) {
  if (!budget || budget <= 0) return null;
  return Math.min(100, Math.max(0, (100 * (Number(used) || 0)) / budget));
}

/**
 * A whole number ≥ 0 typed in a box: "" → `empty` (null: no override), "1 000" or "1,000"
 * → 1000; anything else → NaN (the form says it isn't valid).
 */
export function parseCount(text, empty = null) {
  const clean = String(text ?? "").replace(/[\s,._]/g, "");
  if (clean === "") return empty;
  if (!/^\d{1,15}$/.test(clean)) return Number.NaN;
  return Number(clean);
}

/** "a.com, B.org\nc.net" → ["a.com", "b.org", "c.net"] (lower case, each once, "@" dropped). */
export function parseDomains(text) {
  const seen = [];
  for (const part of String(text ?? "").split(/[\s,;]+/)) {
    const domain = part.trim().replace(/^@/, "").toLowerCase();
    if (domain && !seen.includes(domain)) seen.push(domain);
  }
  return seen;
}

/** An invite's state: "revoked", "expired", "usedUp" or "active". */
export function inviteState(invite, now = new Date()) {
  if (invite.revoked) return "revoked";
  if (invite.expires_at && new Date(invite.expires_at) <= now) return "expired";
  if (invite.max_uses && invite.uses >= invite.max_uses) return "usedUp";
  return "active";
}

/** Where a page of `limit` items at `offset` sits among `total`: {from, to, prev, next}. */
export function pageOf(offset, limit, total, shown) {
  const from = total === 0 ? 0 : offset + 1;
  const to = offset + shown;
  return {
    from,
    to,
    prev: offset > 0 ? Math.max(0, offset - limit) : null,
    next: to < total ? offset + limit : null,
  };
}

/** An audit event's details object as one line of text: "role: admin, uses: 2". */
export function detailsText(details) {
  if (!details || typeof details !== "object") return "";
  return Object.entries(details)
    .map(([key, value]) => {
      const shown = value !== null && typeof value === "object" ? JSON.stringify(value) : value;
      return `${key}: ${shown}`;
    })
    .join(", ");
}

/** A day's bar in the last-30-days chart: its share of the busiest day, 0..100. */
export function shareOfMax(value, values) {
  const max = Math.max(0, ...values.map((v) => Number(v) || 0));
  return max === 0 ? 0 : (100 * (Number(value) || 0)) / max;
}

/** The parts of GET /me the UI keeps in state.user: the role and the two-factor state. */
export function meFields(me) {
  return {
    role: me?.role === "admin" ? "admin" : "user",
    totp_enabled: Boolean(me?.totp_enabled),
    totp_required: Boolean(me?.totp_required),
  };
}
