package proto

// AgentConfigName is the QEMU fw_cfg file that carries a crashrigpb.AgentConfig
// (protojson) into the guest; the guest reads it from
// /sys/firmware/qemu_fw_cfg/by_name/<name>/raw. QEMU requires the opt/ prefix.
const AgentConfigName = "opt/crashrig/agent"
