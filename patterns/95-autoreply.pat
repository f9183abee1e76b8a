# 95-autoreply.pat - auto-replies (vacation, out of office).  The
# RFC 3834 Auto-Submitted: auto-replied, X-Autoreply, X-Autorespond and
# Precedence: auto_reply headers are recognised by the parser itself.
#
# Subjects reach these rules with their RFC 2047 words decoded but not
# converted: raw bytes of their charset, UTF-8 or a legacy 8-bit one.
# Rules are compiled without UTF (a subject need not be valid UTF-8), so
# a class such as [ée] would hold single bytes and never match the two
# bytes of a UTF-8 "é": spell a letter out as (?:é|\xe9|e), the UTF-8
# form, the Latin-1 byte and the bare letter.
autoreply subject ^(?:\[|Re: |AW: |RE: )?(?:Auto(?:matic)?[- ]?(?:reply|response|antwort|respuesta|risposta)|Out of (?:the )?office|Vacation|On vacation|Away from (?:my )?(?:desk|office)|Abwesenheitsnotiz|Abwesend|Absence|R(?:é|\xe9|e)ponse automatique|Risposta automatica|Respuesta autom(?:á|\xe1|a)tica|Fuera de la oficina|Automatisch antwoord|Afwezig|Autosvar|Automatyczna odpowied|Odpowied(?:ź|\xbc|\x9f|z) automatyczna|Ausente|Resposta autom(?:á|\xe1|a)tica|Автоответ|自動応答|自动回复)
# Outlook and Exchange out-of-office replies carry none of the headers
# above, only a subject "<words>: <original subject>" in the language of
# the answering mailbox.  Russian in UTF-8, KOI8-R and Windows-1251.
autoreply subject ^(?:\[|Re: |AW: |RE: )?(?:Automatische Antwort|Automatiskt svar|Automatisk svar|Automaattinen vastaus|Автоматический ответ|\xe1\xd7\xd4\xcf\xcd\xc1\xd4\xc9\xde\xc5\xd3\xcb\xc9\xca \xcf\xd4\xd7\xc5\xd4|\xc0\xe2\xf2\xee\xec\xe0\xf2\xe8\xf7\xe5\xf1\xea\xe8\xe9 \xee\xf2\xe2\xe5\xf2)(?![a-z])
autoreply subject \b(?:out of (?:the )?office|auto[- ]?reply|autoresponse|vacation (?:reply|message|notice)|abwesenheit)\b
