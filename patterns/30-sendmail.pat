# 30-sendmail.pat - Sendmail without DSN (old or misconfigured), and the
# plain-text bounces of Sendmail-like MTAs.
signature ^[ \t>]*-{5} The following addresses had permanent fatal errors -{5}
signature ^[ \t]*-{5} Transcript of session follows -{5}
delayed body ^[ \t]*\*{5,} Warning: could not send message for past|^[ \t]*-{5} The following addresses had transient non-fatal errors
recipient ^[ \t>]*-{5} The following addresses had (?:permanent fatal|transient non-fatal) errors -{5}\s*\n[\s>]*<?([^\s<>@]+@[^\s<>]+?)>?\s*$
recipient ^<?([^\s<>@]+@[^\s<>]+?)>?\.\.\.\s
recipient ^>>> RCPT TO:\s*<([^>]+)>
original ^[ \t]*-{5} (?:Original message follows|Message header follows|Unsent message follows) -{5}
bounce subject ^Returned mail: see transcript for details
