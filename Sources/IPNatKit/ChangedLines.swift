import IPNatDiagnostics
import IPNatLowering
import IPNatSyntax
import NFTKernel
import NFTModel

/// Compiling only what changed: a load keeps the file it compiled (`CompiledSource`, in its
/// load record), and the next load of that file with a few lines edited in place lowers those
/// lines alone. The loader then changes only their elements in the maps they were folded into,
/// and only if the lines alone show that nothing else can change (`LoadRecord.patching`);
/// otherwise the whole file is compiled, as always.
extension IPNat {
  /// ``lower(_:options:lowering:)``, and what a load record keeps of the file. The source is nil
  /// where compiling a changed line alone could not be trusted to agree with compiling the
  /// whole file: a file with diagnostics, with DNS proxy configurations, or that defines a
  /// variable after a rule (every rule must read the same variables, the last values).
  public static func lowerRecordingSource(_ file: SourceFile, options: FrontendOptions, lowering: LoweringOptions,
                                          settings: String) -> (table: Table?, diagnostics: [Diagnostic], source: CompiledSource?)
  {
    var lowering = lowering
    lowering.recordsSourceFacts = true
    let (parsed, result, diagnostics) = parseAndLower(file, options: options, lowering: lowering)
    guard let table = result?.table else { return (nil, diagnostics, nil) }
    guard diagnostics.isEmpty, let facts = result?.sourceFacts,
      parsed.config.statements.allSatisfy({ statement in
        switch statement {
        case .rule: true
        case .assignment(let assignment): facts.firstRuleStart.map { assignment.range.end <= $0 } ?? true
        case .dnsProxy: false
        }
      })
    else { return (table, diagnostics, nil) }
    var foldedLines: [String: [Int]] = [:]
    for map in table.maps where !map.memberLines.isEmpty { foldedLines[map.name] = map.memberLines }
    let source = CompiledSource(path: file.name, settings: settings, text: file.bytes,
                                singleStatementLines: facts.singleStatementLines, ruleTextHashes: facts.ruleTextHashes,
                                foldedLines: foldedLines,
                                variables: parsed.variables.definitions.mapValues(\.value), footprints: facts.footprints)
    return (table, diagnostics, source)
  }

  /// The lines (1-based) where `new` differs from `old`: none if they are equal; nil if they
  /// have different numbers of lines, or more than `limit` lines differ. Line `n` of one is
  /// compared with line `n` of the other: an edit in place.
  public static func changedLines(from old: SourceFile, to new: SourceFile, limit: Int) -> [Int]? {
    guard old.lineCount == new.lineCount else { return nil }
    let (prefix, suffix) = old.bytes.withUnsafeBufferPointer { old in
      new.bytes.withUnsafeBufferPointer { new in
        let shorter = min(old.count, new.count)
        var prefix = 0
        while prefix < shorter && old[prefix] == new[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < shorter - prefix && old[old.count - 1 - suffix] == new[new.count - 1 - suffix] { suffix += 1 }
        return (prefix, suffix)
      }
    }
    if prefix == old.bytes.count && prefix == new.bytes.count { return [] }
    // From the line where they first differ to the line where they last differ, in either.
    let first = old.location(of: prefix).line
    let last = max(first, old.location(of: old.bytes.count - suffix - 1).line, new.location(of: new.bytes.count - suffix - 1).line)
    var changed: [Int] = []
    for line in first...last where !old.lineBytes(line).elementsEqual(new.lineBytes(line)) {
      changed.append(line)
      if changed.count > limit { return nil }
    }
    return changed
  }

  /// Line `line` of `file` lowered alone: at its own line, after as many empty lines, and
  /// parsed together with the line after it, so that the rule ends where it ends in the file.
  /// What can fold is folded, each into a map of its own. With the rule's footprints, as a
  /// record keeps them. Nil unless the line is one whole rule, and nothing is reported.
  public static func lowerAlone(line: Int, of file: SourceFile, options: FrontendOptions, lowering: LoweringOptions)
    -> (table: Table, canonicalForm: String, footprints: [UInt8])?
  {
    guard line >= 1, line <= file.lineCount else { return nil }
    var window = [UInt8](repeating: UInt8(ascii: "\n"), count: line - 1)
    window += file.lineBytes(line)
    window.append(UInt8(ascii: "\n"))
    if line < file.lineCount {
      window += file.lineBytes(line + 1)
      window.append(UInt8(ascii: "\n"))
    }
    let alone = SourceFile(name: file.name, bytes: window)
    let parsed = parse(alone, options: options)
    let rules = parsed.config.rules
    guard parsed.diagnostics.isEmpty, let rule = rules.first,
      parsed.config.statements.count == rules.count,
      alone.location(of: rule.range.start).line == line, alone.location(of: rule.range.end - 1).line == line,
      rules.dropFirst().allSatisfy({ alone.location(of: $0.range.start).line > line })
    else { return nil }
    var lowering = lowering
    lowering.foldThreshold = 1
    lowering.recordsSourceFacts = true
    var lowered = Lowering(file: alone, options: lowering)
    let canonicalForm = CanonicalPrinter.print(rule)
    lowered.add(rule, printedAs: canonicalForm)
    let result = lowered.finish()
    guard result.diagnostics.isEmpty, let table = result.table, let facts = result.sourceFacts else { return nil }
    return (table, canonicalForm, facts.footprints)
  }

  /// Past this many changed lines ``patch(_:toCompile:options:lowering:)`` leaves the file
  /// to be compiled whole.
  public static let changedLineLimit = 16

  /// The loaded table's record changed to what compiling `file` would load, and the element
  /// changes that take the kernel there, from only the lines that differ from the recorded
  /// source, each compiled alone before and after. A line may change what its rule translates
  /// to, and the port and address it matches where that moves no rule
  /// (`FootprintRecord.movingMatches`). Nil where the whole file must be compiled: the record has
  /// no source, or one of another path or other settings; the lines were not edited in place;
  /// or a change might reach beyond the lines' own elements (`LoadRecord.patching`).
  /// `settings`: as for ``lowerRecordingSource(_:options:lowering:settings:)``.
  public static func patch(_ record: LoadRecord, toCompile file: SourceFile, options: FrontendOptions,
                           lowering: LoweringOptions, settings: String) -> (record: LoadRecord, update: TableUpdate)? {
    guard let loaded = record.source, loaded.path == file.name, loaded.settings == settings else { return nil }
    let old = SourceFile(name: file.name, bytes: loaded.text)
    // Every rule was read with the variables as they were at the file's first rule.
    var options = options
    (options.predefined, options.definitions) = (nil, loaded.variables.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    guard let lines = changedLines(from: old, to: file, limit: changedLineLimit) else { return nil }
    var record = record
    var update = TableUpdate()
    for line in lines {
      guard let before = lowerAlone(line: line, of: old, options: options, lowering: lowering),
        let after = lowerAlone(line: line, of: file, options: options, lowering: lowering),
        let oldTable = try? Linearizer.linearize(before.table), let newTable = try? Linearizer.linearize(after.table)
      else { return nil }
      // Where the rule's matches changed, its map keys change with them, if no rule moves.
      var movedFootprints: [UInt8]?
      if before.footprints != after.footprints {
        guard let recorded = record.source?.footprints,
          let moved = FootprintRecord.movingMatches(ofLine: line, from: before.footprints, to: after.footprints,
                                                    in: recorded)
        else { return nil }
        movedFootprints = moved
      }
      guard let patched = record.patching(line: line, from: oldTable, to: newTable,
                                          textHashes: (CompiledSource.textHash(before.canonicalForm),
                                                       CompiledSource.textHash(after.canonicalForm)),
                                          keysMayChange: movedFootprints != nil)
      else { return nil }
      record = patched.record
      if let movedFootprints { record.source?.footprints = movedFootprints }
      update.elementChanges += patched.changes
    }
    record.source?.text = file.bytes
    update.keptRules = record.ruleCount
    update.setsComparedFromRecord = record.sets.count
    update.linesCompiledAlone = lines.count
    return (record, update)
  }
}
