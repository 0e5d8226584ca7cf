"""The hostile webhook URL table: every spelling of a private address the security probe
found, and the exact reason wscfg gives. Shared by the rule's unit test, the `wscfg validate`
corpus test and the sandbox API test, so client and server are held to the same table."""

from __future__ import annotations

PUBLIC = "webhooks must reach a public address"

# url -> the exact message (the ValueError text; field errors prefix it with the path)
HOSTILE: dict[str, str] = {
    # short, octal, hex and decimal IPv4
    "https://127.1/": f"'127.1' (127.0.0.1) is a loopback address; {PUBLIC}",
    "https://0x7f.1/": f"'0x7f.1' (127.0.0.1) is a loopback address; {PUBLIC}",
    "https://0177.0.0.1/": f"'0177.0.0.1' (127.0.0.1) is a loopback address; {PUBLIC}",
    "https://012.0.0.1/": f"'012.0.0.1' (10.0.0.1) is a private address; {PUBLIC}",
    "https://2130706433/": f"'2130706433' (127.0.0.1) is a loopback address; {PUBLIC}",
    "https://0/": f"'0' (0.0.0.0) is an unspecified address; {PUBLIC}",
    "https://1.2.3.4.5/": "'1.2.3.4.5' is not a valid IPv4 address",
    # trailing dots
    "https://localhost./": f"'localhost.' is a private host name; {PUBLIC}",
    "https://127.0.0.1./": f"127.0.0.1 is a loopback address; {PUBLIC}",
    "https://169.254.169.254./": f"169.254.169.254 is a link-local address; {PUBLIC}",
    "https://metadata.google.internal./": (
        f"'metadata.google.internal.' is a private host name; {PUBLIC}"
    ),
    "https://printer.local./": f"'printer.local.' is a private host name; {PUBLIC}",
    "https://router.lan./": f"'router.lan.' is a private host name; {PUBLIC}",
    # special-use names, any case
    "https://LOCALHOST/": f"'LOCALHOST' is a private host name; {PUBLIC}",
    "https://api.localhost/": f"'api.localhost' is a private host name; {PUBLIC}",
    "https://nas.home.arpa/": f"'nas.home.arpa' is a private host name; {PUBLIC}",
    "https://intranet/": f"'intranet' is a private host name; {PUBLIC}",
    "https://hooks/": f"'hooks' is not a public host name; {PUBLIC}",
    # IPv6 that embeds IPv4, and IPv6 of its own
    "https://[::127.0.0.1]/": f"'[::127.0.0.1]' (127.0.0.1) is a loopback address; {PUBLIC}",
    "https://[::ffff:127.0.0.1]/": (
        f"'[::ffff:127.0.0.1]' (127.0.0.1) is a loopback address; {PUBLIC}"
    ),
    "https://[64:ff9b::7f00:1]/": (
        f"'[64:ff9b::7f00:1]' (127.0.0.1) is a loopback address; {PUBLIC}"
    ),
    "https://[2002:7f00:1::]/": f"'[2002:7f00:1::]' (127.0.0.1) is a loopback address; {PUBLIC}",
    "https://[::ffff:a9fe:a9fe]/": (
        f"'[::ffff:a9fe:a9fe]' (169.254.169.254) is a link-local address; {PUBLIC}"
    ),
    "https://[::1]/": f"::1 is a loopback address; {PUBLIC}",
    "https://[::]/": f":: is an unspecified address; {PUBLIC}",
    "https://[fe80::1]/": f"fe80::1 is a link-local address; {PUBLIC}",
    "https://[fc00::1]/": f"fc00::1 is a private address; {PUBLIC}",
    "https://[ff02::1]/": f"ff02::1 is a multicast address; {PUBLIC}",
    "https://[fe80::1%25eth0]/": (
        "the host of a webhook URL cannot be percent-encoded; write it plainly"
    ),
    # full-width digits and dots (UTS-46 maps them to ASCII)
    "https://１２７.０.０.１/": f"'１２７.０.０.１' (127.0.0.1) is a loopback address; {PUBLIC}",
    "https://127。0。0。1/": f"'127。0。0。1' (127.0.0.1) is a loopback address; {PUBLIC}",
    # multicast, CGNAT, private, reserved
    "https://224.0.0.1/": f"224.0.0.1 is a multicast address; {PUBLIC}",
    "https://100.64.0.1/": f"100.64.0.1 is a shared (CGNAT) address; {PUBLIC}",
    "https://192.168.1.20/": f"192.168.1.20 is a private address; {PUBLIC}",
    "https://240.0.0.1/": f"240.0.0.1 is a reserved address; {PUBLIC}",
    "https://255.255.255.255/": f"255.255.255.255 is a reserved address; {PUBLIC}",
    # user info, ports, scheme, spelling
    "https://:@hooks.example.com/": "webhook URL must not carry a user name or password",
    "https://user:pass@hooks.example.com/": "webhook URL must not carry a user name or password",
    "https://hooks.example.com:0/": "port '0' is not a port number from 1 to 65535",
    "https://hooks.example.com:99999/": "port '99999' is not a port number from 1 to 65535",
    "https://hooks.example.com:１/": "port '１' is not a port number from 1 to 65535",
    "http://hooks.example.com/": "webhook URLs must use https://",
    "https://hooks.example.com\\@127.0.0.1/": (
        "the URL contains spaces, control characters or '\\'; write it plainly"
    ),
    "https://%31%32%37.0.0.1/": (
        "the host of a webhook URL cannot be percent-encoded; write it plainly"
    ),
    # issue 21 item 9: the IANA special-purpose registries, whole (netaddr's IANA data)
    "https://192.0.0.8/": f"192.0.0.8 is a reserved address; {PUBLIC}",
    "https://198.18.0.1/": f"198.18.0.1 is a reserved address; {PUBLIC}",
    "https://[fec0::1]/": f"fec0::1 is a reserved address; {PUBLIC}",
    "https://[3fff::1]/": f"3fff::1 is a reserved address; {PUBLIC}",
    "https://[5f00::1]/": f"5f00::1 is a reserved address; {PUBLIC}",
    "https://[2001:db8::1]/": f"2001:db8::1 is a reserved address; {PUBLIC}",
    "https://[2002:808:808::1]/": f"2002:808:808::1 is a reserved address; {PUBLIC}",
    # Teredo: the client address is judged (obfuscated: ~f5ff:fffe is 10.0.0.1), then Teredo
    "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/": (
        f"'[2001:0:4136:e378:8000:63bf:f5ff:fffe]' (10.0.0.1) is a private address; {PUBLIC}"
    ),
    "https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/": (
        f"2001:0:4136:e378:8000:63bf:f7f7:f7f7 is a reserved address; {PUBLIC}"
    ),
    # private-use and special-use names
    "https://localhost6.localdomain6/": (
        f"'localhost6.localdomain6' is a private host name; {PUBLIC}"
    ),
    "https://kubernetes.default/": f"'kubernetes.default' is a private host name; {PUBLIC}",
    "https://kubernetes.default.svc/": (
        f"'kubernetes.default.svc' is a private host name; {PUBLIC}"
    ),
    "https://api.prod.svc.cluster.local/": (
        f"'api.prod.svc.cluster.local' is a private host name; {PUBLIC}"
    ),
    "https://foo.corp/": f"'foo.corp' is a private host name; {PUBLIC}",
    "https://router.home/": f"'router.home' is a private host name; {PUBLIC}",
    "https://foo.intranet/": f"'foo.intranet' is a private host name; {PUBLIC}",
    "https://vault.private/": f"'vault.private' is a private host name; {PUBLIC}",
    "https://1.0.0.127.in-addr.arpa/": (
        f"'1.0.0.127.in-addr.arpa' is a private host name; {PUBLIC}"
    ),
    "https://1.0.0.0.ip6.arpa/": f"'1.0.0.0.ip6.arpa' is a private host name; {PUBLIC}",
    "https://ipv4only.arpa/": f"'ipv4only.arpa' is a private host name; {PUBLIC}",
    "https://hooks.acme.unknowntld/": (
        "'hooks.acme.unknowntld' is not under a public top-level domain ('.unknowntld' is not "
        f"in the root zone); {PUBLIC}"
    ),
    # wildcard DNS: names that spell a private address (nip.io, sslip.io spellings)
    "https://10.0.0.1.nip.io/": (
        "'10.0.0.1.nip.io' spells a private address (10.0.0.1) in its labels, and wildcard "
        f"DNS resolves such names to it; {PUBLIC}"
    ),
    "https://10-0-0-1.sslip.io/": (
        "'10-0-0-1.sslip.io' spells a private address (10.0.0.1) in its labels, and wildcard "
        f"DNS resolves such names to it; {PUBLIC}"
    ),
    "https://app-192-168-0-1.nip.io/": (
        "'app-192-168-0-1.nip.io' spells a private address (192.168.0.1) in its labels, and "
        f"wildcard DNS resolves such names to it; {PUBLIC}"
    ),
    "https://api.169.254.169.254.sslip.io/": (
        "'api.169.254.169.254.sslip.io' spells a link-local address (169.254.169.254) in its "
        f"labels, and wildcard DNS resolves such names to it; {PUBLIC}"
    ),
    "https://7f000001.nip.io/": (
        "'7f000001.nip.io' spells a loopback address (127.0.0.1) in its labels, and wildcard "
        f"DNS resolves such names to it; {PUBLIC}"
    ),
    "https://0x7f.0.0.1.nip.io/": (
        "'0x7f.0.0.1.nip.io' spells a loopback address (127.0.0.1) in its labels, and wildcard "
        f"DNS resolves such names to it; {PUBLIC}"
    ),
    "https://fe80--1.sslip.io/": (
        "'fe80--1.sslip.io' spells a link-local address (fe80::1) in its labels, and wildcard "
        f"DNS resolves such names to it; {PUBLIC}"
    ),
    # DNS limits, after IDNA
    "https://" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 55 + ".example/": (
        "the host name is 255 characters long; DNS allows at most 253"
    ),
    "https://" + "h" * 64 + ".example/": (
        f"a label of '{'h' * 64}.example' is 64 characters long; DNS allows at most 63 per label"
    ),
    # ports: 1 to 65535, also after an IPv6 address
    "https://[2606:4700:4700::1111]:0/": "port '0' is not a port number from 1 to 65535",
    "https://[2606:4700:4700::1111]:65536/": "port '65536' is not a port number from 1 to 65535",
    "https://hooks.example.com:65536/": "port '65536' is not a port number from 1 to 65535",
    "https://hooks.example.com:/": "port '' is not a port number from 1 to 65535",
    # unparseable hosts and invalid labels
    "https://[2606:4700::zz]/": "'[2606:4700::zz]' is not a valid IPv6 address",
    "https://[2606:4700::1/": "unclosed '[' in the host",
    "https://[2606:4700::1]x/": "unexpected text after the IPv6 address",
    "https://-hooks.example.com/": "'-hooks.example.com' is not a valid host name",
    "https://hooks-.example.com/": "'hooks-.example.com' is not a valid host name",
    "https://hooks_1.example.com/": "'hooks_1.example.com' is not a valid host name",
    "https://xn--a.example/": "'xn--a.example' is not a valid host name",
    "https:///x": "webhook URL has no host",
    "https://a..example.com/": "'a..example.com' is not a valid host name",
}

# public endpoints that must keep working
ACCEPTED: tuple[str, ...] = (
    "https://hooks.example.com/acme",
    "https://HOOKS.example.com./acme?x=1",
    "https://hooks.example.com:8443/a%20b",
    "https://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]/hook",
    "https://bücher.example/hook",
    "https://hooks.example.com:1/",
    "https://hooks.example.com:65535/",
    "https://[2606:4700:4700::1111]:1/",
    "https://[2606:4700:4700::1111]:65535/hook",
    "https://8-8-8-8.nip.io/",  # a name that spells a public address
    "https://" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 51 + ".example/",  # 253
)
