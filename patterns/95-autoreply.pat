# 95-autoreply.pat - auto-replies (vacation, out of office).  The
# RFC 3834 Auto-Submitted: auto-replied, X-Autoreply, X-Autorespond and
# Precedence: auto_reply headers are recognised by the parser itself.
autoreply subject ^(?:\[|Re: |AW: |RE: )?(?:Auto(?:matic)?[- ]?(?:reply|response|antwort|respuesta|risposta)|Out of (?:the )?office|Vacation|On vacation|Away from (?:my )?(?:desk|office)|Abwesenheitsnotiz|Abwesend|Absence|R[ée]ponse automatique|Risposta automatica|Respuesta autom[aá]tica|Fuera de la oficina|Automatisch antwoord|Afwezig|Autosvar|Automatyczna odpowied\S|Odpowied\S{1,2} automatyczna|Ausente|Resposta autom[aá]tica|Автоответ|自動応答|自动回复)
autoreply subject \b(?:out of (?:the )?office|auto[- ]?reply|autoresponse|vacation (?:reply|message|notice)|abwesenheit)\b
