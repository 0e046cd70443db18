// How a conversation's title is shown. The server names every new conversation "Novo Chat"
// (the original contract of POST /session) until its first answer gives it an automatic title
// or the user renames it; the UI shows that default as "New chat" in the reader's language.

import { t } from "./i18n.js";

// Only for servers older than the `title_is_custom` field, which can only be matched by string.
const LEGACY_DEFAULT_TITLE = "Novo Chat";

/**
 * Whether `conversation` still has the server's default title: not renamed
 * (`title_is_custom` false) and no turn saved yet. A saved turn is what moves `updated_at`
 * past `created_at` (a rename or a system prompt doesn't), so the list item says it alone.
 */
export function hasDefaultTitle(conversation) {
  if (typeof conversation.title_is_custom !== "boolean") {
    return conversation.title === LEGACY_DEFAULT_TITLE;
  }
  if (conversation.title_is_custom) return false;
  return !(Date.parse(conversation.updated_at) > Date.parse(conversation.created_at));
}

/** The title to show for `conversation` (null: a chat not created yet). */
export function displayTitle(conversation) {
  if (!conversation?.title || hasDefaultTitle(conversation)) return t("untitled");
  return conversation.title;
}
