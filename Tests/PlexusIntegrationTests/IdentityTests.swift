import Foundation
import Testing

/// `plexus init`, sealed keys and damaged key files, through the real executable.
@Suite struct IdentityTests {
    @Test func initRefusesToReplaceAnIdentityWithoutForce() async throws {
        let directory = try TempDirectory()
        let data = ["--data", directory.path]
        #expect(try await runPlexus(["init"] + data, home: directory.path).status == 0)
        let first = try await runPlexus(["id"] + data, home: directory.path).stdout

        let again = try await runPlexus(["init"] + data, home: directory.path)
        #expect(again.status == 1)
        #expect(again.stderr.contains("--force"))
        #expect(try await runPlexus(["id"] + data, home: directory.path).stdout == first)

        #expect(try await runPlexus(["init", "--force"] + data, home: directory.path).status == 0)
        #expect(try await runPlexus(["id"] + data, home: directory.path).stdout != first)
    }

    @Test func plexusHomeSelectsTheDataDirectory() async throws {
        let directory = try TempDirectory()
        let result = try await runPlexus(["init", "--json"], home: directory.path, environment: ["PLEXUS_HOME": directory.path])
        #expect(result.status == 0)
        #expect(FileManager.default.fileExists(atPath: directory.file("identity.json").path))
        let pubkey = try await runPlexus(["pubkey", "--json"], home: directory.path, environment: ["PLEXUS_HOME": directory.path])
        #expect(try pubkey.json()["agent_id"] as? String == (try result.json()["agent_id"] as? String))
        #expect((try pubkey.json()["public_key_hex"] as? String)?.count == 64)
    }

    @Test func encryptedKeyNeedsTheRightPassphrase() async throws {
        let directory = try TempDirectory()
        let data = ["--data", directory.path]
        let created = try await runPlexus(["init", "--encrypt-keys"] + data, home: directory.path, environment: ["PLEXUS_PASSPHRASE": "hunter2 but longer"])
        #expect(created.status == 0, "\(created.stderr)")
        let file = try String(contentsOf: directory.file("identity.json"), encoding: .utf8)
        #expect(file.contains("scrypt-chachapoly"))
        #expect(!file.contains("\"seed\""))
        // The public id is readable without the passphrase.
        #expect(try await runPlexus(["id"] + data, home: directory.path).status == 0)

        let wrong = try await runPlexus(["serve", "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0"] + data, home: directory.path, environment: ["PLEXUS_PASSPHRASE": "wrong"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("wrong passphrase"))

        let none = try await runPlexus(["serve", "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0"] + data, home: directory.path)
        #expect(none.status == 1)
        #expect(none.stderr.contains("PLEXUS_PASSPHRASE"))

        let node = try await ServeProcess(directory: directory, environment: ["PLEXUS_PASSPHRASE": "hunter2 but longer"])
        #expect(try await node.client.status().keysEncrypted)
        #expect(try await node.stop() == 0)
    }

    @Test func corruptedKeyFileIsAClearErrorAndNothingIsOverwritten() async throws {
        let directory = try TempDirectory()
        #expect(try await runPlexus(["init", "--data", directory.path], home: directory.path).status == 0)
        let damaged = Data("{\"version\":1,\"agent_id\":\"zz\"".utf8)
        try damaged.write(to: directory.file("identity.json"))
        let serve = try await runPlexus(["serve", "--data", directory.path, "--api", "127.0.0.1:0", "--listen", "127.0.0.1:0"], home: directory.path)
        #expect(serve.status == 1)
        #expect(serve.stderr.contains("keyFileCorrupt"))
        #expect(try Data(contentsOf: directory.file("identity.json")) == damaged)
    }
}
