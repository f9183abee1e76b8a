# 52-imail.pat - SMTP32 / Ipswitch IMail: "Delivery failed N attempts:
# addr" then "Original message follows." (recipient rule in 90-generic).
signature ^Delivery failed \d+ attempts:
# SMTP32's other short form: "undeliverable  to addr" alone on a line.
recipient ^undeliverable[ \t]+to[ \t]+<?([^\s<>@]+@[^\s<>]+?)>?[ \t]*$
