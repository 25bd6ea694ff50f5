"""Browses for _plexus._tcp.local. with python-zeroconf (PyPI), an independent mDNS/DNS-SD
implementation, and prints what it found as one JSON line: {name: {port, properties,
addresses}}. Usage: zeroconf_browse.py SECONDS COUNT (stops early once COUNT are resolved)."""
import json
import sys
import time

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

found = {}


class Listener(ServiceListener):
    def add_service(self, zc, type_, name):
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is not None:
            found[name] = {
                "port": info.port,
                "properties": {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()},
                "addresses": info.parsed_addresses(),
            }

    def update_service(self, zc, type_, name):
        self.add_service(zc, type_, name)

    def remove_service(self, zc, type_, name):
        pass


zc = Zeroconf()
browser = ServiceBrowser(zc, "_plexus._tcp.local.", Listener())
deadline = time.time() + float(sys.argv[1])
while time.time() < deadline and len(found) < int(sys.argv[2]):
    time.sleep(0.1)
browser.cancel()
zc.close()
print(json.dumps(found))
