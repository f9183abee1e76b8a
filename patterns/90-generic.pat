# 90-generic.pat - hints shared by every MTA family: who sends bounces,
# how their subjects read, phrases of their texts, and the most common
# ways a failed recipient is written.  Loaded after the family files.
#
# Syntax of every *.pat file (one rule a line, '#' starts a comment):
#   signature REGEX           body text only a bounce has (enough alone)
#   bounce SCOPE REGEX        a hint; SCOPE is subject, from or body; two
#                             scopes with a hint make a bounce
#   notbounce SCOPE REGEX     cancels the hints (not the signatures)
#   delayed SCOPE REGEX       a warning: delivery delayed, not failed
#   recipient REGEX           capture group 1 is a failed recipient
#   original REGEX            where the returned message starts in the text
#   reason WORD REGEX         the text gives this reason (first rule wins,
#                             files in name order)
#   autoreply SCOPE REGEX     an auto-reply (vacation, out of office)
# Regexes are PCRE2, caseless, multiline (^ and $ match at line ends).
# Keep them linear: after ^ use [ \t]* rather than \s* (which crosses
# lines), and avoid nested quantifiers; the matcher cuts a runaway match
# (PCRE2 match and depth limits) but a cut rule simply does not match.
# Speed: from each regex the loader reads the literal text every match
# must contain (its longest plain run, or one per alternative of a group:
# "virus", "malware", "infected" for \b(?:virus|malware|infected); small
# optional parts and groups are spelled out, so "message (?:is )?too big"
# gives "message too big" and "message is too big"; \b, ^, $ and
# lookarounds are looked through), and a rule whose literals are not in
# the message's text is never run.  Plain words of three or more ASCII
# bytes keep a rule cheap; a rule made only of classes, escapes like \d
# or \s, or constructs the reader does not follow ((?i), (?>...),
# backreferences) runs on every text, as before.

# --- who sends bounces
bounce from    \b(?:mailer[-_ ]?daemon|postmaster|mail ?delivery ?(?:sub)?system|mail ?administrator|mail ?system|MDaemon|mail ?router|Mail Delivery Service|Internet Mail Delivery)\b
bounce from    ^<?(?:MAILER-DAEMON|post_?master|bounce[s]?|daemon|root)@|\bpost_master@

# --- how their subjects read
bounce subject \b(?:undeliver(?:ed|able)|un-?deliverable|non-?deliver(?:y|able)|delivery (?:status notification|fail(?:ed|ure)|problem|report|notification)|returned mail|failure notice|mail delivery failed|could not (?:be )?deliver|delivery has failed|returned to sender|mail system error|permanent error|delivery error|failed delivery|message (?:not )?delivered|rejected|bounced?|nicht zustellbar|unzustellbar|non remis|no entregado|mail failed|fail(?:ure|ed) delivery|error sending your mail|message status - undeliverable)\b
bounce subject ^(?:Postfix SMTP server: errors from|Returned mail:|Undeliverable:|Warning: \S+@\S+ - )
bounce subject ^(?:Warning|Delayed Mail|Delivery delayed)

# --- what their texts say
bounce body    \b(?:could not be delivered|could not deliver|undeliverable|delivery (?:to the following recipients? )?(?:has )?failed|permanent(?:ly)? (?:fatal )?errors?|(?:user|recipient|mailbox|address) (?:unknown|not found|unavailable|does not exist)|no such (?:user|mailbox|recipient)|unknown (?:user|recipient)|mailbox (?:is )?full|over ?quota|message was not delivered|delivery failure|returned mail|not (?:been )?delivered|unable to deliver|invalid (?:user|recipient|address)|was undeliverable|did not reach the following|error occurred while trying to deliver|transcript of session follows|delivery failed)\b
bounce body    ^<[^\s<>@]+@[^\s<>]+>:\s*$

# --- a failed recipient, the most common ways
# "<user@example.com>:" (qmail style, also Postfix, Yahoo, Sina; GMX quotes it)
recipient ^[ \t]*<([^\s<>"@]+@[^\s<>"]+)>\s*:
recipient ^[ \t]*"([^\s<>"@]+@[^\s<>"]+)"\s*:[ \t]*$
# sendmail's transcript line "5.1.1 <user@example.com>... User unknown"
recipient \b[245]\.\d{1,3}\.\d{1,3}[ \t]+<([^\s<>@]+@[^\s<>]+)>\.\.\.[ \t]
# an address alone on its line, maybe bulleted, "<>", a colon or "(why)"
recipient ^[ \t>]*(?:\*\s*)?<?([^\s<>:"()@]+@[^\s<>:"()]+\.[a-z]{2,})>?:?[ \t]*(?:\([^()\n]*\))?[ \t]*$
# "addr - no such user", "addr ... unknown host", "addr on <date>"
recipient ^[ \t]*<?([^\s<>:"@]+@[^\s<>:"]+\.[a-z]{2,})>?\s+(?:-\s|\.\.\.|on\s+\w{3},?\s)
# "... deliver(ed) ... to[:] addr"
recipient \bdeliver(?:y|ed)?\b[^\n]{0,60}?\bto:?\s+<?([^\s<>:"@]+@[^\s<>:"]+\.[a-z]{2,})>?
# labelled: "Failed Recipient: addr", "Delivery failed 20 attempts: addr", "RCPT TO:<addr>",
# "Final-Recipient: rfc822; addr" (delivery-status fields written as text)
recipient \b(?:failed recipient|delivery failed \d+ attempts|recipient address|RCPT TO|original-recipient|final-recipient|bad address)\s*:?\s*(?:rfc822;)?\s*<?([^\s<>:"@]+@[^\s<>":]+)
# X.400 in old Exchange: "...;dda:SMTP=user@example.com;"
recipient \bSMTP=([^\s;<>@]+@[^\s;<>]+);
# "User's mailbox is full: <addr>", "quota exceeded for addr"
recipient (?:full|unknown|user|exist|exceeded|violation|quota)[^\n]{0,30}?(?::\s*|\bfor\s+)<?([^\s<>:"@]+@[^\s<>:"]+\.[a-z]{2,})>?
# sendmail's "(expanded from: addr)"
recipient \(expanded from:\s*<?([^\s<>()@]+@[^\s<>()]+?)>?\)

# --- where the returned message starts
original ^-{2,}\s*(?:Original message|Forwarded message|Below this line is a copy|This is a copy of|Undelivered message|Original message follows|original message)
original ^-{2,} ?Start of returned message
original ^[ \t]*-{3,}\s*Original Message\s*-{3,}
original ^(?:A copy of the original message below this line|Original message follows|The original message (?:was|is) (?:attached|below)|Below is a copy of the original message)
original ^[ \t]*-- The header and top \d+ lines of the message follows
original ^\|-+ Message text follows
# A bounce whose MIME headers a list manager dropped: its parts are read
# as one text, and the returned message starts at its part's header.
original ^Content-Type:[ \t]*(?:message/rfc822|text/rfc822-headers|message/global)\b
