// The tool-poisoning guard. Every text a model reads in tools/list (tool title and description,
// and every description inside the input and output schemas, whether written in the manifest or
// taken from the spec) must describe, never instruct. These patterns catch the known shapes of
// injected instructions (Invariant Labs' "tool poisoning" write-up, OWASP LLM01): overriding
// earlier instructions, demanding to be called first, hiding things from the user, fake
// system/chat markup, and invisible characters. The one imperative allowed is the closing
// "WARNING: <effect>. Confirm with the user before calling." of write tools.

export interface PoisonRule {
  id: string;
  re: RegExp;
  /** What the match looks like, for the error message. */
  what: string;
}

export const POISON_RULES: readonly PoisonRule[] = [
  {
    id: 'override-instructions',
    re: /\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(previous|prior|above|earlier|preceding|all|any|other|your|system)\b[^.\n]{0,30}\b(instructions?|rules?|prompts?|directions?|guidelines?|context|messages?)\b/i,
    what: 'an instruction to ignore earlier instructions',
  },
  { id: 'system-prompt', re: /\bsystem[\s_-]*(prompt|message|instructions?)\b/i, what: 'a reference to the system prompt' },
  {
    id: 'call-first',
    re: /\b(always\s+(call|use|invoke|run)\s+this\s+tool|(call|use|invoke|run)\s+this\s+tool\s+(first|before|always|every\s+time|whenever))\b/i,
    what: 'a demand to call this tool first or always',
  },
  {
    id: 'before-other-tools',
    re: /\bbefore\s+(using|calling|invoking|running)\s+(any|all|every|other|another)\b[^.\n]{0,20}\btools?\b/i,
    what: 'a rule about other tools',
  },
  {
    id: 'conceal-from-user',
    re: /\b(do\s+not|don'?t|never|must\s+not)\s+(tell|inform|mention|reveal|show|disclose|notify|alert|ask)\b[^.\n]{0,30}\b(user|human|operator)s?\b/i,
    what: 'an instruction to hide something from the user',
  },
  {
    id: 'without-user',
    re: /\bwithout\s+((telling|asking|informing|notifying|consulting)\s+the\s+(user|human)|(the\s+)?(user|human)'?s?\s+(knowledge|consent|permission|approval))\b/i,
    what: 'an instruction to act without the user',
  },
  {
    id: 'markup-tags',
    re: /<\s*\/?\s*(important|system|instructions?|admin|secret|hidden|assistant|user|tool_?call|prompt|context|im_start|im_end)\b[^>]*>/i,
    what: 'an instruction tag such as <IMPORTANT>',
  },
  { id: 'chat-markers', re: /<\|[^|>\n]{1,30}\|>|\[\/?(INST|SYS)\]|<<\/?SYS>>/i, what: 'chat-template markup' },
  {
    id: 'role-change',
    re: /\b(you\s+(are|must|will)\s+now|you\s+have\s+been\s+(given|granted)|new\s+instructions?\s*:|act\s+as\s+(an?|the)\b)/i,
    what: 'an attempt to change the model\'s role',
  },
  {
    id: 'addressed-to-model',
    re: /\b(the\s+)?(ai|assistant|llm|language\s+model|chatgpt|claude)\s+(must|should|needs?\s+to|has\s+to|is\s+required\s+to)\b/i,
    what: 'an instruction addressed to the model',
  },
  {
    id: 'shouted-prefix',
    re: /\b(important|attention|note\s+to\s+(the\s+)?(ai|assistant|model|llm|agent)|system|admin)\s*[:!]/i,
    what: 'an attention prefix such as "IMPORTANT:"',
  },
  {
    id: 'secret-files',
    re: /(~\/\.ssh|\bid_rsa\b|\/etc\/passwd|\.env\b|\bmcp\.json\b|\.aws\/credentials)/i,
    what: 'a reference to local secret files',
  },
  {
    id: 'exfiltrate',
    re: /\b(send|forward|post|upload|exfiltrate|leak|copy)\b[^.\n]{0,40}\bhttps?:\/\//i,
    what: 'an instruction to send data to a URL',
  },
  {
    id: 'hidden-characters',
    // Zero-width, bidi controls, word joiners, BOM, soft hyphen, Unicode tag characters, C0 controls.
    // eslint-disable-next-line no-control-regex
    re: /[\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u{E0000}-\u{E007F}\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/u,
    what: 'invisible or control characters',
  },
];

/** The closing sentence write tools must end with, and the only place "WARNING:" may appear. */
export const WARNING_FORM = /(^|\s)WARNING: [^\n]{3,300}?\. Confirm with the user before calling\.$/;

export interface GuardFinding {
  rule: string;
  what: string;
  excerpt: string;
}

/** Finds instructions aimed at the model in one text. */
export function findPoison(text: string): GuardFinding[] {
  const findings: GuardFinding[] = [];
  for (const rule of POISON_RULES) {
    const m = rule.re.exec(text);
    if (m !== null) findings.push({ rule: rule.id, what: rule.what, excerpt: excerpt(m[0]) });
  }
  return findings;
}

/**
 * Checks a tool description: no poison, and the WARNING sentence present exactly when the tool
 * changes something (risk write/destructive), at the very end.
 */
export function checkToolDescription(text: string, changesState: boolean): GuardFinding[] {
  const findings = findPoison(text);
  const warnings = text.match(/WARNING/gi)?.length ?? 0;
  if (changesState) {
    if (!WARNING_FORM.test(text) || warnings !== 1) {
      findings.push({
        rule: 'warning-form',
        what: 'a write tool description that does not end with the WARNING sentence',
        excerpt: excerpt(text.slice(-60)),
      });
    }
  } else if (warnings > 0) {
    findings.push({ rule: 'warning-form', what: 'a WARNING in a read tool description', excerpt: excerpt(text) });
  }
  return findings;
}

function excerpt(s: string): string {
  const visible = s.replace(/[^\x20-\x7E]/g, (c) => `\\u{${c.codePointAt(0)?.toString(16).toUpperCase()}}`);
  return visible.length > 60 ? `${visible.slice(0, 57)}...` : visible;
}
