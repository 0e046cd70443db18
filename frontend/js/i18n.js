// UI strings in Brazilian Portuguese (the original project's language) and English.
// The language follows the browser's list (navigator.languages: the first pt-* or en-* in it;
// English when none is either) until the user picks one; the pick is kept in localStorage. Static markup is translated through data-i18n / data-i18n-attr attributes,
// views that build DOM call t() and re-render on the "languagechange" event (events.js).

import { emit } from "./events.js";

const STRINGS = {
  en: {
    appName: "Chatbot",
    authSubtitle: "Your private assistant",
    logIn: "Log in",
    signUp: "Sign up",
    createAccount: "Create account",
    username: "Username",
    email: "Email",
    password: "Password",
    passwordConfirm: "Confirm password",
    usernameHint: "3–32 letters, digits, _ . -",
    passwordHint: "At least 8 characters",
    show: "Show",
    hide: "Hide",
    showPassword: "Show password",
    hidePassword: "Hide password",
    registered: "Account created. You are now logged in.",
    sessionExpired: "Your session ended. Please log in again.",
    accountDeleted: "Your account and conversations were deleted.",
    wrongCredentials: "Wrong username or password.",
    required: "Required.",
    passwordsDiffer: "The passwords don't match.",
    throttled: "Too many attempts. Try again in {seconds} s.",
    throttledNoTime: "Too many attempts. Try again in a moment.",
    networkError: "Can't reach the server. Check your connection.",
    genericError: "Something went wrong ({status}).",
    language: "Language",
    themeToggle: "Switch dark/light theme",
    skipToComposer: "Skip to message box",
    conversations: "Conversations",
    newChat: "New chat",
    searchLabel: "Search conversations",
    searchPlaceholder: "Search…",
    noConversations: "No conversations yet.",
    noMatches: "No conversation matches.",
    rename: "Rename",
    renameLabel: "New title",
    delete: "Delete",
    deleteChatTitle: "Delete this conversation?",
    deleteChatText: "“{title}” and all its messages will be deleted.",
    openMenu: "Open conversations",
    closeMenu: "Close conversations",
    accountMenu: "Account",
    exportConversations: "Export conversations",
    changePassword: "Change password",
    currentPassword: "Current password",
    newPassword: "New password",
    passwordChanged: "Password changed. Other sessions were logged out.",
    wrongPassword: "Wrong password.",
    deleteAccount: "Delete account",
    deleteAccountWarning: "This deletes your account and every conversation. It cannot be undone.",
    confirmWithPassword: "Type your password to confirm",
    deleteForever: "Delete forever",
    exported: "Export downloaded.",
    logOut: "Log out",
    cancel: "Cancel",
    save: "Save",
    retry: "Retry",
    messagesLabel: "Messages",
    messageLabel: "Message",
    composerPlaceholder: "Send a message…",
    composerHint: "Enter sends · Shift+Enter for a new line",
    send: "Send",
    stop: "Stop",
    you: "You",
    assistant: "Assistant",
    copy: "Copy",
    copied: "Copied",
    copyCode: "Copy code",
    copyAnswer: "Copy answer",
    regenerate: "Regenerate",
    stopped: "Stopped.",
    interrupted: "Interrupted: the server restarted before this answer was finished.",
    answerFailed: "The model failed before finishing this answer.",
    reconnecting: "Connection lost — reconnecting…",
    copyMessage: "Copy message",
    editMessage: "Edit message",
    saveAndSend: "Save & send",
    versionsLabel: "Versions",
    previousVersion: "Previous version",
    nextVersion: "Next version",
    loadingConversation: "Loading the conversation…",
    loadFailed: "This conversation could not be loaded.",
    charCount: "{count} / {limit} characters",
    tooLongBy: "{count} / {limit} characters — too long to send: remove {excess}.",
    tooLongShort: "Too long to send: remove {excess} characters.",
    close: "Close",
    memoryTitle: "What the assistant remembers",
    memoryNothing: "Nothing summarised yet — the assistant reads the whole conversation.",
    memoryCovers: "A summary of the first {messages} messages, written by the assistant:",
    memorySummary: "Summary",
    memoryWindow: "The latest {messages} messages (about {tokens} tokens) are read word for word.",
    jumpLatest: "Jump to the latest message",
    emptyTitle: "How can I help?",
    suggestions: [
      "Explain how HTTPS keeps my data safe",
      "Write a Python function that checks if a word is a palindrome",
      "Give me three ideas for a weekend trip",
      "Summarize the pros and cons of SQLite vs PostgreSQL",
    ],
    demoBanner: "Demo mode: no Gemini key is configured, answers come from the offline demo model.",
    modelFailed: "The model failed to answer. Nothing was saved.",
    modelBusy: "The model is overloaded right now. Try again in a moment.",
    modelTimeout: "The model took too long to answer.",
    chatBusy: "Another answer is being generated in this conversation.",
    chatThrottled: "You're sending messages too fast. Try again in {seconds} s.",
    chatTooLong: "The message is too long.",
    connectionLost: "The connection was lost before the answer finished.",
    notFound: "This conversation no longer exists.",
    untitled: "New chat",
    loading: "Loading…",
    // -- errors the API returns, in plain words (errors.js) --
    errTooShort: "Too short.",
    errTooLong: "Too long.",
    errEmpty: "Can't be empty.",
    errEmail: "This is not an email address.",
    errUsername: "This username has characters that aren't allowed.",
    errBadCharacters: "Contains characters that aren't allowed.",
    errInvalid: "This value isn't valid.",
    usernameTaken: "This username is taken.",
    emailTaken: "An account with this email already exists.",
    errUnauthorized: "You are not logged in.",
    errForbidden: "You are not allowed to do that.",
    errConflict: "Something changed meanwhile. Reload and try again.",
    errTooLarge: "That is too large to send.",
    errServer: "The server had a problem ({status}). Try again in a moment.",
    // -- sidebar: date groups, the row menu --
    groupToday: "Today",
    groupYesterday: "Yesterday",
    groupWeek: "Previous 7 days",
    groupMonth: "Previous 30 days",
    conversationActions: "Actions for “{title}”",
    // -- phone width --
    demoBannerShort: "Demo mode: offline answers",
    // Message search (views/search.js)
    searchMessagesTitle: "In messages",
    searchMessagesLoading: "Searching messages…",
    searchMessagesNone: "No message contains these words.",
    searchMessagesCount: "{count} messages found",
  },
  "pt-BR": {
    appName: "Chatbot",
    authSubtitle: "Seu assistente particular",
    logIn: "Entrar",
    signUp: "Criar conta",
    createAccount: "Criar conta",
    username: "Nome de usuário",
    email: "E-mail",
    password: "Senha",
    passwordConfirm: "Confirme a senha",
    usernameHint: "3 a 32 letras, dígitos, _ . -",
    passwordHint: "Pelo menos 8 caracteres",
    show: "Mostrar",
    hide: "Ocultar",
    showPassword: "Mostrar senha",
    hidePassword: "Ocultar senha",
    registered: "Conta criada. Você já está conectado.",
    sessionExpired: "Sua sessão terminou. Entre novamente.",
    accountDeleted: "Sua conta e suas conversas foram excluídas.",
    wrongCredentials: "Usuário ou senha incorretos.",
    required: "Obrigatório.",
    passwordsDiffer: "As senhas não coincidem.",
    throttled: "Muitas tentativas. Tente de novo em {seconds} s.",
    throttledNoTime: "Muitas tentativas. Tente de novo daqui a pouco.",
    networkError: "Não foi possível falar com o servidor. Verifique sua conexão.",
    genericError: "Algo deu errado ({status}).",
    language: "Idioma",
    themeToggle: "Alternar tema claro/escuro",
    skipToComposer: "Ir para a caixa de mensagem",
    conversations: "Conversas",
    newChat: "Nova conversa",
    searchLabel: "Buscar conversas",
    searchPlaceholder: "Buscar…",
    noConversations: "Nenhuma conversa ainda.",
    noMatches: "Nenhuma conversa encontrada.",
    rename: "Renomear",
    renameLabel: "Novo título",
    delete: "Excluir",
    deleteChatTitle: "Excluir esta conversa?",
    deleteChatText: "“{title}” e todas as suas mensagens serão excluídas.",
    openMenu: "Abrir conversas",
    closeMenu: "Fechar conversas",
    accountMenu: "Conta",
    exportConversations: "Exportar conversas",
    changePassword: "Alterar senha",
    currentPassword: "Senha atual",
    newPassword: "Nova senha",
    passwordChanged: "Senha alterada. As outras sessões foram encerradas.",
    wrongPassword: "Senha incorreta.",
    deleteAccount: "Excluir conta",
    deleteAccountWarning: "Isto exclui sua conta e todas as conversas. Não há como desfazer.",
    confirmWithPassword: "Digite sua senha para confirmar",
    deleteForever: "Excluir para sempre",
    exported: "Exportação baixada.",
    logOut: "Sair",
    cancel: "Cancelar",
    save: "Salvar",
    retry: "Tentar de novo",
    messagesLabel: "Mensagens",
    messageLabel: "Mensagem",
    composerPlaceholder: "Envie uma mensagem…",
    composerHint: "Enter envia · Shift+Enter quebra a linha",
    send: "Enviar",
    stop: "Parar",
    you: "Você",
    assistant: "Assistente",
    copy: "Copiar",
    copied: "Copiado",
    copyCode: "Copiar código",
    copyAnswer: "Copiar resposta",
    regenerate: "Gerar de novo",
    stopped: "Interrompida.",
    interrupted: "Cortada: o servidor reiniciou antes de esta resposta terminar.",
    answerFailed: "O modelo falhou antes de terminar esta resposta.",
    reconnecting: "A conexão caiu — reconectando…",
    copyMessage: "Copiar mensagem",
    editMessage: "Editar mensagem",
    saveAndSend: "Salvar e enviar",
    versionsLabel: "Versões",
    previousVersion: "Versão anterior",
    nextVersion: "Próxima versão",
    loadingConversation: "Carregando a conversa…",
    loadFailed: "Não foi possível carregar esta conversa.",
    charCount: "{count} / {limit} caracteres",
    tooLongBy: "{count} / {limit} caracteres — longa demais para enviar: tire {excess}.",
    tooLongShort: "Longa demais para enviar: tire {excess} caracteres.",
    close: "Fechar",
    memoryTitle: "O que o assistente lembra",
    memoryNothing: "Nada resumido ainda — o assistente lê a conversa inteira.",
    memoryCovers: "Um resumo das primeiras {messages} mensagens, escrito pelo assistente:",
    memorySummary: "Resumo",
    memoryWindow: "As últimas {messages} mensagens (cerca de {tokens} tokens) são lidas na íntegra.",
    jumpLatest: "Ir para a última mensagem",
    emptyTitle: "Como posso ajudar?",
    suggestions: [
      "Explique como o HTTPS protege meus dados",
      "Escreva uma função Python que verifica se uma palavra é um palíndromo",
      "Dê três ideias de passeio para o fim de semana",
      "Resuma prós e contras de SQLite e PostgreSQL",
    ],
    demoBanner: "Modo demonstração: nenhuma chave do Gemini configurada, as respostas vêm do modelo offline.",
    modelFailed: "O modelo não conseguiu responder. Nada foi salvo.",
    modelBusy: "O modelo está sobrecarregado agora. Tente de novo em instantes.",
    modelTimeout: "O modelo demorou demais para responder.",
    chatBusy: "Outra resposta está sendo gerada nesta conversa.",
    chatThrottled: "Você está enviando mensagens rápido demais. Tente de novo em {seconds} s.",
    chatTooLong: "A mensagem é longa demais.",
    connectionLost: "A conexão caiu antes de a resposta terminar.",
    notFound: "Esta conversa não existe mais.",
    untitled: "Nova conversa",
    loading: "Carregando…",
    // -- errors the API returns, in plain words (errors.js) --
    errTooShort: "Curta demais.",
    errTooLong: "Passa do tamanho máximo.",
    errEmpty: "Não pode ficar vazio.",
    errEmail: "Isto não é um endereço de e-mail.",
    errUsername: "Este nome de usuário tem caracteres não permitidos.",
    errBadCharacters: "Contém caracteres não permitidos.",
    errInvalid: "Este valor não é válido.",
    usernameTaken: "Este nome de usuário já está em uso.",
    emailTaken: "Já existe uma conta com este e-mail.",
    errUnauthorized: "Você não está conectado.",
    errForbidden: "Você não tem permissão para isso.",
    errConflict: "Algo mudou nesse meio-tempo. Recarregue e tente de novo.",
    errTooLarge: "Isto é grande demais para enviar.",
    errServer: "O servidor teve um problema ({status}). Tente de novo em instantes.",
    // -- sidebar: date groups, the row menu --
    groupToday: "Hoje",
    groupYesterday: "Ontem",
    groupWeek: "Últimos 7 dias",
    groupMonth: "Últimos 30 dias",
    conversationActions: "Ações de “{title}”",
    // -- phone width --
    demoBannerShort: "Modo demonstração: respostas offline",
    // Busca nas mensagens (views/search.js)
    searchMessagesTitle: "Nas mensagens",
    searchMessagesLoading: "Buscando nas mensagens…",
    searchMessagesNone: "Nenhuma mensagem contém estas palavras.",
    searchMessagesCount: "{count} mensagens encontradas",
  },
};

const STORAGE_KEY = "lang";

function detect() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && STRINGS[saved]) return saved;
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of preferred) {
    if (!tag) continue;
    if (tag.toLowerCase().startsWith("pt")) return "pt-BR";
    if (tag.toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

let current = detect();

export function lang() {
  return current;
}

/** The string for `key` in the current language, with {name} placeholders filled in. */
export function t(key, vars = {}) {
  const value = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  if (typeof value !== "string") return value;
  return value.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** Fill every data-i18n element under `root` (textContent only, never HTML). */
export function translate(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  // data-i18n-attr="aria-label:key;placeholder:other"
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key));
    }
  }
}

export function setLang(next) {
  if (!STRINGS[next] || next === current) return;
  current = next;
  localStorage.setItem(STORAGE_KEY, next);
  translate();
  emit("languagechange");
}
