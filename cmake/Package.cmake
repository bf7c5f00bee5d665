# What `cmake --install` puts where, and the Debian package CPack makes of it (scripts/package).
# Paths are those of a Debian system: the binary in /usr/bin, the unit in /usr/lib/systemd/system,
# the configuration in /etc/acmon (a conffile: an upgrade keeps the operator's edits), Prometheus
# rules, the dashboard and the example configuration in /usr/share/acmon.
install(FILES systemd/acmon.service DESTINATION lib/systemd/system)
install(FILES prometheus/acmon-rules.yml dashboards/acmon.json DESTINATION share/acmon)
install(FILES examples/acmon.toml examples/web-config.yml DESTINATION share/acmon/examples)
# An absolute destination: /etc is not under the /usr prefix.
install(FILES examples/acmon.toml DESTINATION /etc/acmon PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME acmon)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "acmon maintainers <acmon@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "watches Alibaba Cloud activation codes (SMC, ECS Cloud Assistant, PolarDB)")
set(CPACK_PACKAGE_DESCRIPTION
    "acmon polls the activation-code list APIs, keeps every run as a snapshot in SQLite, raises alerts for codes near expiry or their usage cap, and exports Prometheus metrics. It runs as a systemd service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # acmon_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the shared libraries acmon links (dpkg-shlibdeps)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/systemd/debian/conffiles;${PROJECT_SOURCE_DIR}/systemd/debian/postinst;${PROJECT_SOURCE_DIR}/systemd/debian/postrm")
set(CPACK_OUTPUT_FILE_PREFIX "${PROJECT_BINARY_DIR}")
include(CPack)
