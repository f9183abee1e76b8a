# 54-x6.pat - a hosted MTA that answers "We had trouble delivering your
# message. Full details follow:" with "The following recipients returned
# permanent errors: addr. Reason: ..." (it also sets Auto-Submitted:
# auto-replied, which the signature overrides).
signature ^We had trouble delivering your message\. Full details follow
recipient returned (?:permanent|temporary) errors:\s*<?([^\s<>@]+@[^\s<>]+?)>?\.?\s
