import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as path from "node:path"

/**
 * A private file system in memory: what the memory profile gives its TraceWriter, so that its
 * dead letters live and die with the layer and never touch a file of the host. Only what the
 * dead letters use is implemented (directories, whole-file and streamed reads and writes, rename,
 * remove, listing); every other operation fails as a file that does not exist.
 */
export const make = (): FileSystem.FileSystem => {
  const files = new Map<string, Array<Uint8Array>>()
  const dirs = new Set<string>(["/"])
  let nextFd = 3

  const error = (method: string, target: string, reason: PlatformError.SystemErrorReason, description: string) =>
    new PlatformError.SystemError({ module: "FileSystem", method, reason, description, pathOrDescriptor: target })
  const abs = (p: string) => path.resolve("/", p)
  const parentExists = (method: string, p: string) =>
    dirs.has(path.dirname(p)) ? Effect.void : Effect.fail(error(method, p, "NotFound", "no such directory"))
  const bytesOf = (chunks: ReadonlyArray<Uint8Array>) => Buffer.concat(chunks)

  const openForWrite = (p: string, append: boolean): FileSystem.File => {
    if (!append || !files.has(p)) files.set(p, [])
    const fd = FileSystem.FileDescriptor(nextFd++)
    const unsupported = (method: string) => Effect.die(new Error(`MemoryFileSystem: File.${method} is not supported`))
    const writeAll = (buffer: Uint8Array) =>
      Effect.sync(() => {
        const chunks = files.get(p)
        // A file removed or renamed while open keeps its data, as on a POSIX system: only this handle sees it.
        if (chunks !== undefined) chunks.push(Uint8Array.from(buffer))
      })
    return {
      [FileSystem.FileTypeId]: FileSystem.FileTypeId,
      fd,
      stat: unsupported("stat"),
      seek: () => unsupported("seek"),
      sync: Effect.void,
      read: () => unsupported("read"),
      readAlloc: () => unsupported("readAlloc"),
      truncate: () => unsupported("truncate"),
      write: (buffer) => Effect.as(writeAll(buffer), FileSystem.Size(buffer.length)),
      writeAll
    }
  }

  return FileSystem.makeNoop({
    access: (p) => Effect.suspend(() => files.has(abs(p)) || dirs.has(abs(p)) ? Effect.void : Effect.fail(error("access", p, "NotFound", "no such file"))),
    exists: (p) => Effect.sync(() => files.has(abs(p)) || dirs.has(abs(p))),
    makeDirectory: (p, options) =>
      Effect.suspend(() => {
        const target = abs(p)
        if (options?.recursive === true) {
          for (let d = target; !dirs.has(d); d = path.dirname(d)) dirs.add(d)
          return Effect.void
        }
        return Effect.zipRight(parentExists("makeDirectory", target), Effect.sync(() => void dirs.add(target)))
      }),
    readDirectory: (p) =>
      Effect.suspend(() => {
        const dir = abs(p)
        if (!dirs.has(dir)) return Effect.fail(error("readDirectory", p, "NotFound", "no such directory"))
        const names = [...files.keys(), ...dirs].filter((f) => f !== dir && path.dirname(f) === dir).map((f) => path.basename(f))
        return Effect.succeed(names)
      }),
    readFile: (p) =>
      Effect.suspend(() => {
        const chunks = files.get(abs(p))
        return chunks === undefined ? Effect.fail(error("readFile", p, "NotFound", "no such file")) : Effect.succeed(new Uint8Array(bytesOf(chunks)))
      }),
    writeFile: (p, data) =>
      Effect.zipRight(parentExists("writeFile", abs(p)), Effect.sync(() => void files.set(abs(p), [Uint8Array.from(data)]))),
    open: (p, options) =>
      Effect.suspend(() => {
        const target = abs(p)
        const flag = options?.flag ?? "r"
        if (flag.startsWith("r")) return Effect.die(new Error("MemoryFileSystem: open for reading is not supported; use stream or readFile"))
        if (flag.includes("x") && files.has(target)) return Effect.fail(error("open", p, "AlreadyExists", "file exists"))
        return Effect.as(parentExists("open", target), openForWrite(target, flag.startsWith("a")))
      }),
    stream: (p) =>
      Stream.unwrap(Effect.suspend(() => {
        const chunks = files.get(abs(p))
        return chunks === undefined
          ? Effect.fail(error("stream", p, "NotFound", "no such file"))
          : Effect.succeed(Stream.fromIterable([...chunks]))
      })),
    rename: (from, to) =>
      Effect.suspend(() => {
        const [source, target] = [abs(from), abs(to)]
        const chunks = files.get(source)
        if (chunks === undefined) return Effect.fail(error("rename", from, "NotFound", "no such file"))
        return Effect.zipRight(parentExists("rename", target), Effect.sync(() => {
          files.delete(source)
          files.set(target, chunks)
        }))
      }),
    remove: (p, options) =>
      Effect.suspend(() => {
        const target = abs(p)
        if (files.delete(target)) return Effect.void
        if (dirs.has(target) && options?.recursive === true) {
          for (const f of [...files.keys()]) if (f.startsWith(`${target}/`)) files.delete(f)
          for (const d of [...dirs]) if (d === target || d.startsWith(`${target}/`)) dirs.delete(d)
          return Effect.void
        }
        return options?.force === true ? Effect.void : Effect.fail(error("remove", p, "NotFound", "no such file"))
      }),
    stat: (p) =>
      Effect.suspend(() => {
        const target = abs(p)
        const chunks = files.get(target)
        if (chunks === undefined && !dirs.has(target)) return Effect.fail(error("stat", p, "NotFound", "no such file"))
        const size = chunks === undefined ? 0 : chunks.reduce((n, c) => n + c.length, 0)
        return Effect.succeed<FileSystem.File.Info>({
          type: chunks === undefined ? "Directory" : "File",
          mtime: Option.none(),
          atime: Option.none(),
          birthtime: Option.none(),
          dev: 0,
          ino: Option.none(),
          mode: 0o644,
          nlink: Option.none(),
          uid: Option.none(),
          gid: Option.none(),
          rdev: Option.none(),
          size: FileSystem.Size(size),
          blksize: Option.none(),
          blocks: Option.none()
        })
      })
  })
}

/** A fresh in-memory file system for each build of the layer. */
export const layer: Layer.Layer<FileSystem.FileSystem> = Layer.sync(FileSystem.FileSystem, make)
