/// A plan's one JSON encoding, for the journal record every multi-step operation writes before its first step (see
/// JSONWriter for why not Codable's encoder). Keys are written in sorted order, in the shape synthesised
/// `Decodable` reads back (recovery uses `JSONDecoder`; Plan and Step are Decodable only). `JournalRecordTests`
/// checks the bytes against stored records and decodes each back: a new member of a step, a definition or a
/// request must be written here too, or that test fails.
extension JSONWriter {
    public mutating func plan(_ plan: Plan) {
        beginObject()
        key("operation"); string(plan.operation)
        key("recovery"); string(plan.recovery.rawValue)
        key("steps")
        beginArray()
        for step in plan.steps {
            element()
            self.step(step)
        }
        endArray()
        endObject()
    }

    /// Synthesised `Codable` writes a case as `{"case":{"label":value,…}}` (an unlabelled value as `_0`).
    mutating func step(_ step: Step) {
        beginObject()
        key(step.caseName)
        beginObject()
        switch step {
        case let .createMdev(uuid, parent, type), let .removeMdev(uuid, parent, type):
            key("parent"); string(parent); key("type"); string(type); key("uuid"); string(uuid.text)
        case let .assignVF(vf, type, uuid), let .releaseVF(vf, type, uuid):
            key("type"); string(type); key("uuid"); string(uuid.text); key("vf"); string(vf)
        case let .attachHostdev(domain, uuid, xml, scope), let .detachHostdev(domain, uuid, xml, scope):
            key("domain"); string(domain); key("scope"); int(scope.rawValue); key("uuid"); string(uuid.text); key("xml"); string(xml)
        case let .writeDefinition(definition), let .deleteDefinition(definition):
            key("_0"); self.definition(definition)
        case let .addMigrationOverride(domain, alias), let .removeMigrationOverride(domain, alias):
            key("alias"); string(alias); key("domain"); string(domain)
        case let .recordVGPU(domain, request), let .forgetVGPU(domain, request):
            key("domain"); string(domain); key("request"); self.request(request)
        case let .replaceDefinition(old, new):
            key("new"); definition(new); key("old"); definition(old)
        case let .writeAttributes(uuid, parent, layout, attributes), let .keepAttributes(uuid, parent, layout, attributes):
            key("attributes"); self.attributes(attributes); key("layout"); string(layout.rawValue)
            key("parent"); string(parent); key("uuid"); string(uuid.text)
        }
        endObject()
        endObject()
    }

    private mutating func members(_ write: (inout JSONWriter) -> Void) {
        beginObject()
        write(&self)
        endObject()
    }

    mutating func definition(_ definition: Definition) {
        members {
            $0.key("attributes"); $0.attributes(definition.attributes); $0.key("layout"); $0.string(definition.layout.rawValue)
            $0.key("parent"); $0.string(definition.parent); $0.key("start"); $0.string(definition.start.rawValue)
            $0.key("type"); $0.string(definition.type); $0.key("uuid"); $0.string(definition.uuid.text)
        }
    }

    private mutating func attributes(_ attributes: [Definition.Attribute]) {
        beginArray()
        for attribute in attributes {
            element()
            members { $0.key("name"); $0.string(attribute.name); $0.key("value"); $0.string(attribute.value) }
        }
        endArray()
    }

    mutating func request(_ request: VGPURequest) {
        members {
            if let defined = request.defined { $0.key("defined"); $0.string(defined.rawValue) }
            if let group = request.group { $0.key("group"); $0.string(group) }
            $0.key("lifetime"); $0.string(request.lifetime.rawValue)
            if let policy = request.policy { $0.key("policy"); $0.string(policy.rawValue) }
            $0.key("type"); $0.string(request.type); $0.key("uuid"); $0.string(request.uuid.text)
            if let vf = request.vf { $0.key("vf"); $0.string(vf) }
        }
    }
}

extension Step {
    /// The case's name, as synthesised `Codable` spells it.
    var caseName: String {
        switch self {
        case .createMdev: return "createMdev"
        case .removeMdev: return "removeMdev"
        case .assignVF: return "assignVF"
        case .releaseVF: return "releaseVF"
        case .attachHostdev: return "attachHostdev"
        case .detachHostdev: return "detachHostdev"
        case .writeDefinition: return "writeDefinition"
        case .addMigrationOverride: return "addMigrationOverride"
        case .removeMigrationOverride: return "removeMigrationOverride"
        case .deleteDefinition: return "deleteDefinition"
        case .recordVGPU: return "recordVGPU"
        case .forgetVGPU: return "forgetVGPU"
        case .replaceDefinition: return "replaceDefinition"
        case .writeAttributes: return "writeAttributes"
        case .keepAttributes: return "keepAttributes"
        }
    }
}
