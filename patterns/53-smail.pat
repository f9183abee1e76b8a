# 53-smail.pat - Smail 3: boxed sections "|---- Message log follows: ---|",
# "|---- Failed addresses follow: ---|" (one " addr ... reason" a line),
# "|---- Message text follows: ---|".
signature ^\|-+ (?:Message log|Failed addresses) follows?:
recipient \|-+ Failed addresses follow:[^\n]*\n\s*<?([^\s<>@]+@[^\s<>]+?)>?\s
